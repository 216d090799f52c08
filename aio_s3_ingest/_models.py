"""The values that flow between the stages: listed objects, wanted files, records, plans."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object as ListObjectsV2 (or a HEAD) described it."""

    key: str
    size: int
    etag: str
    last_modified: dt.datetime


@dataclass(frozen=True, slots=True)
class WantedFile:
    """A selected object and the path, relative to the dataset directory, it lands at."""

    relpath: str
    obj: ObjectInfo


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the local manifest remembers of one verified file.

    ``size`` and ``mtime_ns`` describe the file on disk, so a file that was
    edited or truncated since is noticed without reading it.
    """

    key: str
    size: int
    etag: str
    last_modified: str
    mtime_ns: int

    def matches(self, obj: ObjectInfo) -> bool:
        """True when the object in S3 is the one this file was fetched from."""
        return self.key == obj.key and self.size == obj.size and self.etag == obj.etag


@dataclass(frozen=True, slots=True)
class DiskState:
    """Size and mtime of a file as found on disk."""

    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run must do: fetch, keep as is, and delete (paths relative to the dataset)."""

    to_fetch: tuple[WantedFile, ...]
    to_keep: tuple[WantedFile, ...]
    to_delete: tuple[str, ...]

    @property
    def bytes_to_fetch(self) -> int:
        """Total size of the objects to fetch."""
        return sum(w.obj.size for w in self.to_fetch)
