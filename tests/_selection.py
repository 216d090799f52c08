"""Objects, wanted files and records as the selection and planning unit tests build them."""

from __future__ import annotations

import datetime as dt

from aio_s3_ingest._models import FileRecord, ObjectInfo, Selection, WantedFile

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def obj(key: str, size: int = 1, etag: str = '"e1"', when: dt.datetime = T0) -> ObjectInfo:
    """An object as a listing would describe it."""
    return ObjectInfo(key=key, size=size, etag=etag, last_modified=when)


def wanted(
    relpath: str, key: str | None = None, *, size: int = 1, when: dt.datetime = T0
) -> WantedFile:
    """A selected object landing at ``relpath`` (its key defaults to ``data/<relpath>``)."""
    return WantedFile(relpath=relpath, obj=obj(key or f"data/{relpath}", size=size, when=when))


def chosen(items: list[WantedFile], *unselected: WantedFile) -> Selection:
    """The selection of ``items``, with ``unselected`` objects present in S3 beside them."""
    present = {item.obj.key: item.relpath for item in (*items, *unselected)}
    return Selection(wanted=list(items), present=present, skipped={})


def record_of(item: WantedFile, mtime_ns: int = 1_000) -> FileRecord:
    """The local-manifest record a verified fetch of ``item`` would leave."""
    o = item.obj
    return FileRecord(
        key=o.key,
        size=o.size,
        etag=o.etag,
        last_modified=o.last_modified.isoformat(),
        mtime_ns=mtime_ns,
    )
