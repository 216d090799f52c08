"""Compare the wanted set with the local manifest; pure, so every rule is a unit test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._models import DiskState, FileRecord, Plan, WantedFile


def make_plan(
    wanted: Sequence[WantedFile],
    records: Mapping[str, FileRecord],
    disk: Mapping[str, DiskState | None],
    *,
    force: bool,
) -> Plan:
    """Split the wanted files into fetch and keep, and list tracked files to delete.

    A file is kept only when its record matches the object in S3 and the file on
    disk still has the recorded size and mtime. Only tracked paths are ever
    deleted, so files a user put beside the dataset are never touched.
    """
    to_fetch: list[WantedFile] = []
    to_keep: list[WantedFile] = []
    for item in wanted:
        record = records.get(item.relpath)
        if not force and record is not None and _is_current(record, item, disk):
            to_keep.append(item)
        else:
            to_fetch.append(item)
    wanted_paths = {item.relpath for item in wanted}
    to_delete = tuple(sorted(path for path in records if path not in wanted_paths))
    return Plan(to_fetch=tuple(to_fetch), to_keep=tuple(to_keep), to_delete=to_delete)


def _is_current(record: FileRecord, item: WantedFile, disk: Mapping[str, DiskState | None]) -> bool:
    state = disk.get(item.relpath)
    return (
        record.matches(item.obj)
        and state is not None
        and state.size == record.size
        and state.mtime_ns == record.mtime_ns
    )
