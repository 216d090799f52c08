"""The local manifest: what this library put in the dataset directory, and in what state.

Two files in the hidden state folder. ``manifest.json`` is rewritten whole
(write-temp, fsync, ``os.replace``) at the end of a run. ``journal.jsonl`` gets
one line per file as soon as it is verified and in place, so a run that is
killed half-way still knows what it finished: loading replays the journal over
the manifest, and a torn last line is ignored.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TextIO

from .._log import logger
from .._models import FileRecord
from .._select import path_problem

FORMAT = "aio-s3-ingest.manifest"
VERSION = 2  # 2 added each record's checksum
_READABLE_VERSIONS = (1, 2)
_FIELDS = frozenset(FileRecord.__dataclass_fields__)
_OPTIONAL_FIELDS = frozenset({"checksum"})  # absent from version 1 records


class LocalManifest:
    """Reads and writes the records of one dataset directory's state folder."""

    def __init__(self, state_dir: pathlib.Path) -> None:
        self.path = state_dir / "manifest.json"
        self.journal_path = state_dir / "journal.jsonl"
        self._journal: TextIO | None = None
        self._journal_lock = threading.Lock()

    def load(self) -> dict[str, FileRecord]:
        """The recorded files by relative path; a damaged manifest counts as empty."""
        records = self._load_manifest()
        records.update(self._load_journal())
        return records

    def open_journal(self) -> None:
        """Start appending verified files; lines are flushed one by one."""
        self._journal = open(self.journal_path, "a", encoding="utf-8")  # noqa: SIM115

    def record(self, relpath: str, record: FileRecord) -> None:
        """Append one verified file to the journal (from worker threads and the loop's)."""
        line = json.dumps({"path": relpath, **_as_dict(record)}) + "\n"
        with self._journal_lock:
            if self._journal is None:
                raise RuntimeError("journal is not open")
            self._journal.write(line)
            self._journal.flush()

    def close_journal(self) -> None:
        with self._journal_lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    def save(self, records: Mapping[str, FileRecord]) -> None:
        """Replace the manifest atomically, then drop the journal it now includes."""
        document = {
            "format": FORMAT,
            "version": VERSION,
            "files": {path: _as_dict(records[path]) for path in sorted(records)},
        }
        fd, tmp = tempfile.mkstemp(prefix="manifest.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise
        self.close_journal()
        self.journal_path.unlink(missing_ok=True)

    def _load_manifest(self) -> dict[str, FileRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            return _parse_manifest(text)
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning(
                "local manifest %s is unreadable (%s); treating the dataset as not cached",
                self.path,
                exc,
            )
            return {}

    def _load_journal(self) -> dict[str, FileRecord]:
        try:
            lines = self.journal_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return {}
        records: dict[str, FileRecord] = {}
        for line in lines:
            try:
                item = json.loads(line)
                path = _checked_path(item.pop("path"))
                records[path] = _record(item)
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # a line torn by a crash: that file is fetched again
        return records


def _parse_manifest(text: str) -> dict[str, FileRecord]:
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError("not an aio-s3-ingest manifest")
    if document.get("version") not in _READABLE_VERSIONS:
        raise ValueError(f"unsupported manifest version {document.get('version')!r}")
    files = document["files"]
    if not isinstance(files, dict):
        raise TypeError("'files' is not an object")
    return {_checked_path(path): _record(item) for path, item in files.items()}


def _checked_path(path: object) -> str:
    """A recorded path is trusted for deletion only if it is a safe relative path."""
    if not isinstance(path, str) or path_problem(path) is not None:
        raise ValueError(f"unsafe path {path!r} in the local manifest")
    return path


def _record(item: Any) -> FileRecord:
    if not isinstance(item, dict) or not _FIELDS - _OPTIONAL_FIELDS <= set(item) <= _FIELDS:
        raise ValueError(f"bad record fields: {sorted(item) if isinstance(item, dict) else item}")
    record = FileRecord(**item)
    if not all(isinstance(getattr(record, name), int) for name in ("size", "mtime_ns")):
        raise TypeError("size and mtime_ns must be integers")
    if record.checksum is not None and not isinstance(record.checksum, str):
        raise TypeError("checksum must be a string")
    return record


_RECORD_FIELDS = tuple(field.name for field in fields(FileRecord))


def _as_dict(record: FileRecord) -> dict[str, object]:
    """A record's fields (``dataclasses.asdict`` deep-copies: several times slower)."""
    return {name: getattr(record, name) for name in _RECORD_FIELDS}
