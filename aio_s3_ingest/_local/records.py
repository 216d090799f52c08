"""A file record as the manifest's formats store it: checked on the way in, because a
recorded path is later trusted for deletion."""

from __future__ import annotations

from typing import Any

from .._models import FileRecord
from .._select import path_problem

FIELDS = FileRecord._fields
_REQUIRED = frozenset(FIELDS) - {"checksum"}  # absent from version 1 records


def checked_path(path: object) -> str:
    """A recorded path is trusted for deletion only if it is a safe relative path."""
    if not isinstance(path, str) or path_problem(path) is not None:
        raise ValueError(f"unsafe path {path!r} in the local manifest")
    return path


def record_from(item: Any) -> FileRecord:
    """A record from a mapping of its fields; ValueError or TypeError if it is not one."""
    if not isinstance(item, dict) or not _REQUIRED <= set(item) <= set(FIELDS):
        raise ValueError(f"bad record fields: {sorted(item) if isinstance(item, dict) else item}")
    return checked_record(FileRecord(**item))


def checked_record(record: FileRecord) -> FileRecord:
    """``record``, if each field has its type (the stores do not enforce them)."""
    if not all(isinstance(getattr(record, name), int) for name in ("size", "mtime_ns")):
        raise TypeError("size and mtime_ns must be integers")
    if not all(isinstance(getattr(record, name), str) for name in ("key", "etag")):
        raise TypeError("key and etag must be strings")
    if not isinstance(record.last_modified, str):
        raise TypeError("last_modified must be a string")
    if record.checksum is not None and not isinstance(record.checksum, str):
        raise TypeError("checksum must be a string")
    return record


def as_dict(record: FileRecord) -> dict[str, object]:
    return dict(zip(FIELDS, record, strict=True))
