"""The values that flow between the stages: listed objects, wanted files, records, plans."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

ARCHIVE_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
"""Classes whose objects answer a GET with InvalidObjectState until they are restored."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object as ListObjectsV2 (or a HEAD) described it."""

    key: str
    size: int
    etag: str
    last_modified: dt.datetime
    storage_class: str = "STANDARD"

    @property
    def archived(self) -> bool:
        """True in a storage class whose objects must be restored before a GET can read them."""
        return self.storage_class in ARCHIVE_STORAGE_CLASSES


@dataclass(frozen=True, slots=True)
class WantedFile:
    """A selected object and the path, relative to the dataset directory, it lands at."""

    relpath: str
    obj: ObjectInfo


class FileRecord(NamedTuple):
    """What the local manifest remembers of one verified file.

    ``size`` and ``mtime_ns`` describe the file on disk, so a file that was
    edited or truncated since is noticed without reading it. ``checksum`` is S3's
    checksum the bytes were verified against (``CRC64NVME:base64``), None if S3 had none
    this process could check. A tuple, because a run loads one per file: a tuple is
    built several times faster than a frozen dataclass.
    """

    key: str
    size: int
    etag: str
    last_modified: str
    mtime_ns: int
    checksum: str | None = None

    def matches(self, obj: ObjectInfo) -> bool:
        """True when the object in S3 is the one this file was fetched from."""
        return self.key == obj.key and self.size == obj.size and self.etag == obj.etag


class DiskState(NamedTuple):
    """Size and mtime of a file as found on disk (a tuple: a run stats every file)."""

    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run must do: fetch, keep as is, and delete (paths relative to the dataset);
    ``unselected`` are tracked files outside the selection that stay on disk untouched."""

    to_fetch: tuple[WantedFile, ...]
    to_keep: tuple[WantedFile, ...]
    to_delete: tuple[str, ...]
    unselected: tuple[str, ...] = ()

    @property
    def bytes_to_fetch(self) -> int:
        """Total size of the objects to fetch."""
        return sum(w.obj.size for w in self.to_fetch)


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What fetching came to: the records of the files that landed, by path, and why each
    failed key failed."""

    fetched: dict[str, FileRecord] = field(default_factory=dict)
    failures: dict[str, Exception] = field(default_factory=dict)

    def merged(self, *others: FetchOutcome) -> FetchOutcome:
        """This outcome and ``others`` as one (a later one wins a path or key they share)."""
        fetched, failures = dict(self.fetched), dict(self.failures)
        for other in others:
            fetched.update(other.fetched)
            failures.update(other.failures)
        return FetchOutcome(fetched, failures)
