"""Compare the wanted set with the local manifest; pure, so every rule is a unit test."""

from __future__ import annotations

from collections.abc import Mapping

from ._models import DiskState, FileRecord, Plan, Selection, WantedFile


def make_plan(
    selection: Selection,
    records: Mapping[str, FileRecord],
    disk: Mapping[str, DiskState | None],
    *,
    force: bool,
    prune_unselected: bool = False,
) -> Plan:
    """Split the wanted files into fetch and keep, and sort the other tracked files.

    A file is kept only when its record matches the object in S3 and the file on
    disk still has the recorded size and mtime. A tracked file outside the selection is
    deleted when its object left S3 (or the S3 manifest), or now maps to another path;
    one whose object is merely outside the patterns is left alone, unless
    ``prune_unselected``. Only tracked paths are ever deleted, so files a user put beside
    the dataset are never touched.
    """
    to_fetch: list[WantedFile] = []
    to_keep: list[WantedFile] = []
    for item in selection.wanted:
        record = records.get(item.relpath)
        if not force and record is not None and _is_current(record, item, disk):
            to_keep.append(item)
        else:
            to_fetch.append(item)
    to_delete, unselected = _untracked_or_left(selection, records, prune_unselected)
    return Plan(
        to_fetch=tuple(to_fetch),
        to_keep=tuple(to_keep),
        to_delete=tuple(to_delete),
        unselected=tuple(unselected),
    )


def _untracked_or_left(
    selection: Selection, records: Mapping[str, FileRecord], prune_unselected: bool
) -> tuple[list[str], list[str]]:
    """The tracked paths outside the selection: those to delete, and those left alone."""
    wanted_paths = {item.relpath for item in selection.wanted}
    to_delete: list[str] = []
    unselected: list[str] = []
    for path in sorted(records.keys() - wanted_paths):
        leave = not prune_unselected and selection.present.get(records[path].key) == path
        (unselected if leave else to_delete).append(path)
    if unselected:
        # A file left alone must not stand where a wanted file needs a folder, or below one.
        blocking = _in_the_way(unselected, wanted_paths)
        to_delete = sorted([*to_delete, *blocking])
        unselected = [path for path in unselected if path not in blocking]
    return to_delete, unselected


def _in_the_way(paths: list[str], wanted_paths: set[str]) -> set[str]:
    """The paths that are a folder of a wanted file, or lie below a wanted file."""
    wanted_folders = {folder for path in wanted_paths for folder in _folders(path)}
    return {
        path
        for path in paths
        if path in wanted_folders or not wanted_paths.isdisjoint(_folders(path))
    }


def _folders(path: str) -> list[str]:
    """``a/b/c`` gives ``["a", "a/b"]``."""
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


def _is_current(record: FileRecord, item: WantedFile, disk: Mapping[str, DiskState | None]) -> bool:
    state = disk.get(item.relpath)
    return (
        record.matches(item.obj)
        and state is not None
        and state.size == record.size
        and state.mtime_ns == record.mtime_ns
    )
