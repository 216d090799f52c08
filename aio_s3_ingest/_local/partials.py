"""Large downloads that survive the run: a partial file and the journal of its written ranges.

A large object's bytes land in a partial file named after the object's bucket, key, ETag
and size, so the next run that wants the same version finds it. Beside it, a journal
holds one line per range of bytes written, appended only after the write returned: a
process killed at any moment (SIGKILL included) leaves lines only for bytes the kernel
already holds, and the next run fetches just the rest, pinned to the same ETag.

No ``fdatasync`` per line: it would make every chunk wait for the disk. A power loss or
a kernel crash can lose written bytes while keeping their line, so a journal records the
boot it was written in (Linux's ``boot_id``) and one from another boot is not trusted:
that object starts again. Where the system names no boot, partials are not kept across
runs at all. The finished file is then checked whole against S3's checksum, as every
file is (:mod:`aio_s3_ingest._transfer.verify`), so no hash state needs to be kept here.

Everything here blocks: the transfer calls it through worker threads, or inline for a
journal line (see :mod:`aio_s3_ingest._transfer.writes`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from collections.abc import Collection, Iterable
from typing import Any

from .._log import logger
from .._models import ObjectInfo
from .layout import DatasetLayout

PARTIAL_SUFFIX = ".partial"
JOURNAL_SUFFIX = ".ranges"
JOURNAL_FORMAT = 1
_BOOT_ID_PATH = pathlib.Path("/proc/sys/kernel/random/boot_id")


def current_boot() -> str | None:
    """This boot's identity, or None where the system does not name its boots."""
    try:
        return _BOOT_ID_PATH.read_text().strip() or None
    except OSError:
        return None


class Partial:
    """One object's partial file: which bytes it holds, and the journal that says so.

    ``done`` are the [start, end) ranges an earlier run wrote (merged, sorted); a partial
    that cannot outlive its run (no journal) has none and is removed by :meth:`keep`.
    """

    def __init__(
        self,
        path: pathlib.Path,
        journal: pathlib.Path | None,
        done: list[tuple[int, int]],
    ) -> None:
        self.path = path
        self.journal = journal
        self.done = done
        self._fd: int | None = None
        if journal is not None:
            self._fd = os.open(journal, os.O_WRONLY | os.O_APPEND)

    @property
    def resumed_bytes(self) -> int:
        return sum(end - start for start, end in self.done)

    def missing(self, ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        """The parts of ``ranges`` not written yet, in order."""
        todo = []
        for start, end in ranges:
            for done_start, done_end in self.done:
                if done_end <= start or done_start >= end:
                    continue
                if done_start > start:
                    todo.append((start, done_start))
                start = max(start, done_end)
            if start < end:
                todo.append((start, end))
        return todo

    def record(self, start: int, end: int) -> None:
        """Journal bytes [start, end) as written (call only once their write returned)."""
        if self._fd is not None and end > start:
            os.write(self._fd, b"%d %d\n" % (start, end))

    def keep(self) -> None:
        """The run ends before the file is done: keep it for the next run, if it can resume."""
        self._close()
        if self.journal is None:
            self.path.unlink(missing_ok=True)

    def discard(self) -> None:
        """Its bytes cannot be trusted or are of another version: remove file and journal."""
        self._close()
        self.path.unlink(missing_ok=True)
        if self.journal is not None:
            self.journal.unlink(missing_ok=True)

    def finished(self) -> None:
        """The file was moved into place: the journal has nothing left to say."""
        self._close()
        if self.journal is not None:
            self.journal.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class PartialFiles:
    """The partial files of one dataset's temp folder, for the objects of one bucket.
    Only objects of at least ``min_size`` bytes (the run's ``part_size``) keep theirs
    across runs: a smaller one costs little to fetch again."""

    def __init__(
        self, layout: DatasetLayout, bucket: str, boot: str | None, *, min_size: int
    ) -> None:
        self.layout = layout
        self.temp_dir = layout.temp_dir
        self.bucket = bucket
        self.boot = boot
        self.min_size = min_size

    def open(self, obj: ObjectInfo) -> Partial:
        """The object's partial file, with what an earlier run wrote if it can be trusted,
        else a fresh one pre-sized for ranges to land at their offsets; one that cannot
        outlive the run if the object is small or this system names no boots."""
        if obj.size < self.min_size or self.boot is None:
            return Partial(self.layout.new_temp(obj.size), None, [])
        path, journal = self._paths(obj)
        done = self._trusted(obj, path, journal)
        if done is None:
            return self._fresh(obj, path, journal)
        return Partial(path, journal, done)

    def present(self) -> set[str]:
        """The names of the partial files and journals in the temp folder now."""
        return {
            entry.name
            for entry in os.scandir(self.temp_dir)
            if os.path.splitext(entry.name)[1] in (PARTIAL_SUFFIX, JOURNAL_SUFFIX)
        }

    def prune(self, wanted: Iterable[ObjectInfo], among: Collection[str] | None = None) -> int:
        """Remove partial files and journals of every object not in ``wanted`` (left the
        selection, changed, complete, or now too small to resume), of those named in
        ``among`` if given (the ones an earlier run left, while this run makes its own):
        call only under the dataset's lock."""
        names = {self._stem(obj) for obj in wanted if obj.size >= self.min_size}
        removed = 0
        for entry in os.scandir(self.temp_dir):
            stem, suffix = os.path.splitext(entry.name)
            if among is not None and entry.name not in among:
                continue
            if suffix in (PARTIAL_SUFFIX, JOURNAL_SUFFIX) and stem not in names:
                os.unlink(entry.path)
                removed += suffix == PARTIAL_SUFFIX
        return removed

    def _stem(self, obj: ObjectInfo) -> str:
        identity = "\n".join((self.bucket, obj.key, obj.etag, str(obj.size)))
        return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:40]

    def _paths(self, obj: ObjectInfo) -> tuple[pathlib.Path, pathlib.Path]:
        stem = self.temp_dir / self._stem(obj)
        return stem.with_suffix(PARTIAL_SUFFIX), stem.with_suffix(JOURNAL_SUFFIX)

    def _header(self, obj: ObjectInfo) -> dict[str, Any]:
        return {
            "format": JOURNAL_FORMAT,
            "bucket": self.bucket,
            "key": obj.key,
            "etag": obj.etag,
            "size": obj.size,
            "boot": self.boot,
        }

    def _trusted(
        self, obj: ObjectInfo, path: pathlib.Path, journal: pathlib.Path
    ) -> list[tuple[int, int]] | None:
        """The ranges an earlier run wrote, or None if there is nothing to trust: no
        journal, another object or boot in its header, or a data file of another size."""
        try:
            text = journal.read_bytes()
            size = os.stat(path).st_size
        except OSError:
            return None
        header, _, lines = text.partition(b"\n")
        try:
            same = json.loads(header) == self._header(obj)
        except ValueError:
            same = False
        if not same or size != obj.size:
            logger.debug("%r: partial file from another version or boot; starting over", obj.key)
            return None
        return journaled_ranges(lines, obj.size)

    def _fresh(self, obj: ObjectInfo, path: pathlib.Path, journal: pathlib.Path) -> Partial:
        """A new partial file of the object's size, replacing any earlier one, and a journal
        holding only its header. The old journal goes first, so a kill in between never
        leaves lines that speak for the new file's zeros."""
        journal.unlink(missing_ok=True)
        with open(path, "wb") as data:
            data.truncate(obj.size)
        journal.write_text(json.dumps(self._header(obj), sort_keys=True) + "\n")
        return Partial(path, journal, [])


def journaled_ranges(lines: bytes, size: int) -> list[tuple[int, int]]:
    """The merged ranges a journal's lines record. A line cut short by a kill (no newline)
    and anything after a line that does not parse as a range inside the object are ignored."""
    spans = []
    for line in lines.split(b"\n")[:-1]:  # the last piece has no newline: incomplete or empty
        try:
            start, end = (int(field) for field in line.split())
        except ValueError:
            break
        if not 0 <= start < end <= size:
            break
        spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
