"""The manifest's journal: one line per file as soon as it is verified and in place.

Appended by this process and by worker processes (small appends to one file), flushed
line by line, so a run killed half-way still knows what it finished. The manifest folds
the journal in when a run saves, then removes it. A line torn by a crash is ignored:
that file is fetched again.
"""

from __future__ import annotations

import json
import pathlib
import threading
from typing import TextIO

from .._models import FileRecord
from .records import as_dict, checked_path, record_from


class Journal:
    """The journal file of one state folder."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self._file: TextIO | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        """Start appending; lines are flushed one by one."""
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def append(self, relpath: str, record: FileRecord) -> None:
        """One verified file (from worker threads and the loop's)."""
        line = json.dumps({"path": relpath, **as_dict(record)}) + "\n"
        with self._lock:
            if self._file is None:
                raise RuntimeError("journal is not open")
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def read(self) -> dict[str, FileRecord]:
        """The records the journal holds, the last line of a path winning."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return {}
        records: dict[str, FileRecord] = {}
        for line in lines:
            try:
                item = json.loads(line)
                path = checked_path(item.pop("path"))
                records[path] = record_from(item)
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
        return records

    def remove(self) -> None:
        """Drop the journal once the manifest holds what it said."""
        self.close()
        self.path.unlink(missing_ok=True)
