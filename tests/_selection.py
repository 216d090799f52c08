"""Objects, wanted files and records as the selection and planning unit tests build them,
and the selection and plan of a whole list at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from aio_s3_ingest._models import DiskState, FileRecord, ObjectInfo, Plan, WantedFile
from aio_s3_ingest._plan import Planner
from aio_s3_ingest._select import WantedPaths
from aio_s3_ingest._selection import Selector
from aio_s3_ingest.errors import UnsafeKeyError

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def obj(key: str, size: int = 1, etag: str = '"e1"', when: dt.datetime = T0) -> ObjectInfo:
    """An object as a listing would describe it."""
    return ObjectInfo(key=key, size=size, etag=etag, last_modified=when)


def wanted(
    relpath: str, key: str | None = None, *, size: int = 1, when: dt.datetime = T0
) -> WantedFile:
    """A selected object landing at ``relpath`` (its key defaults to ``data/<relpath>``)."""
    return WantedFile(relpath=relpath, obj=obj(key or f"data/{relpath}", size=size, when=when))


def selected(
    objects: Iterable[ObjectInfo],
    prefix: str,
    patterns: Sequence[str] = ("*",),
    *,
    shard: tuple[int, int] | None = None,
) -> tuple[list[WantedFile], Selector]:
    """The wanted files of ``objects`` listed under ``prefix`` (sorted by path), and the
    selector that chose them (for its other keys and skipped ones)."""
    found: list[WantedFile] = []
    selector = Selector(("bkt", prefix), patterns, found.append, shard=shard)
    selector.add(list(objects))
    return sorted(found, key=lambda item: item.relpath), selector


def check_safe(items: Iterable[WantedFile]) -> None:
    """Refuse the unsafe or colliding paths among ``items`` (:class:`WantedPaths`)."""
    paths = WantedPaths()
    for item in items:
        paths.add(item.relpath, item.obj.key)
    if problems := paths.problems():
        raise UnsafeKeyError(problems)


@dataclasses.dataclass(frozen=True)
class Chosen:
    """A selection as the planning tests state it: the wanted files, and every candidate
    key in S3 with the path it lands at."""

    wanted: list[WantedFile]
    present: dict[str, str]


def chosen(items: list[WantedFile], *unselected: WantedFile) -> Chosen:
    """The selection of ``items``, with ``unselected`` objects present in S3 beside them."""
    present = {item.obj.key: item.relpath for item in (*items, *unselected)}
    return Chosen(wanted=list(items), present=present)


def make_plan(
    selection: Chosen,
    records: Mapping[str, FileRecord],
    disk: Mapping[str, DiskState | None],
    *,
    force: bool,
    prune_unselected: bool = False,
) -> Plan:
    """The plan of a whole selection at once, through :class:`Planner`."""
    to_fetch: list[WantedFile] = []
    planner = Planner(records, disk, force=force, fetch=to_fetch.append)
    for item in selection.wanted:
        planner.add(item)
    to_delete, unselected = planner.leftovers(
        {item.relpath for item in selection.wanted},
        lambda key, path: selection.present.get(key) == path,
        prune_unselected=prune_unselected,
    )
    return Plan(tuple(to_fetch), tuple(planner.to_keep), tuple(to_delete), tuple(unselected))


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
