"""Compare the wanted files with the local manifest, one by one; pure, so every rule is a
unit test."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from ._models import DiskState, FileRecord, WantedFile


class Planner:
    """Each wanted file decided as it comes, in any order: kept, or handed to ``fetch``.

    A file is kept only when its record matches the object in S3 and the file on disk
    still has the recorded size and mtime.
    """

    def __init__(
        self,
        records: Mapping[str, FileRecord],
        disk: Mapping[str, DiskState | None],
        *,
        force: bool,
        fetch: Callable[[WantedFile], None],
    ) -> None:
        self.records = records
        self._disk = disk
        self._force = force
        self._fetch = fetch
        self.to_keep: list[WantedFile] = []

    def add(self, item: WantedFile) -> None:
        record = self.records.get(item.relpath)
        if not self._force and record is not None and _is_current(record, item, self._disk):
            self.to_keep.append(item)
        else:
            self._fetch(item)

    def leftovers(
        self, wanted: Collection[str], is_present: Presence, *, prune_unselected: bool
    ) -> tuple[list[str], list[str]]:
        """The tracked paths outside ``wanted``: those to delete, and those left alone.

        A tracked file outside the selection is deleted when its object left S3 (or the S3
        manifest), or now maps to another path; one whose object is merely outside the
        patterns (``is_present``) is left alone, unless ``prune_unselected``. Only tracked
        paths are ever deleted, so files a user put beside the dataset are never touched.
        """
        to_delete: list[str] = []
        unselected: list[str] = []
        for path in sorted(path for path in self.records if path not in wanted):
            leave = not prune_unselected and is_present(self.records[path].key, path)
            (unselected if leave else to_delete).append(path)
        if unselected:
            # A file left alone must not stand where a wanted file needs a folder, or below one.
            blocking = _in_the_way(unselected, wanted)
            to_delete = sorted([*to_delete, *blocking])
            unselected = [path for path in unselected if path not in blocking]
        return to_delete, unselected


Presence = Callable[[str, str], bool]
"""Whether an object key is still a candidate in S3 that lands at the given path."""


def _in_the_way(paths: list[str], wanted: Collection[str]) -> set[str]:
    """The paths that are a folder of a wanted file, or lie below a wanted file."""
    wanted_folders = {folder for path in wanted for folder in _folders(path)}
    return {
        path
        for path in paths
        if path in wanted_folders or any(folder in wanted for folder in _folders(path))
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
