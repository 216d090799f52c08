"""From the listed candidates to the wanted set: local paths, patterns, safety checks. Pure."""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
from collections.abc import Iterable, Sequence

from ._models import ObjectInfo, Selection, WantedFile
from .errors import NoMatchingFilesError, TimestampToleranceError, UnsafeKeyError

STATE_DIR_NAME = ".aio-s3-ingest"
"""Hidden folder in the dataset directory that holds the local manifest, lock and temp files."""

MAX_NAME_BYTES = 255


def base_of(prefix: str) -> str:
    """The folder of the prefix: ``data/file_`` gives ``data/``, ``data`` gives ``""``."""
    return prefix[: prefix.rfind("/") + 1]


def relative_path(key: str, prefix: str) -> str:
    """Where ``key`` lands, relative to the dataset directory.

    A key that continues the prefix with ``/`` maps below ``prefix/`` (the prefix names a
    folder, with or without its trailing slash); any other key under the prefix continues
    it inside a name (``data/file_`` and ``data/file_1.csv``) and maps below the prefix's
    folder.
    """
    if prefix and not prefix.endswith("/") and key.startswith(prefix + "/"):
        return key[len(prefix) + 1 :]
    return key[len(base_of(prefix)) :]


def matches(relpath: str, patterns: Iterable[str]) -> bool:
    """fnmatch against the relative path; a pattern without '/' also tries the basename."""
    basename = relpath.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatchcase(relpath, pattern)
        or ("/" not in pattern and fnmatch.fnmatchcase(basename, pattern))
        for pattern in patterns
    )


def select(objects: Iterable[ObjectInfo], prefix: str, patterns: Sequence[str]) -> list[WantedFile]:
    """The objects whose relative path matches, folder markers skipped, sorted by path."""
    wanted = []
    for obj in objects:
        relpath = relative_path(obj.key, prefix)
        if not obj.key.endswith("/") and matches(relpath, patterns):
            wanted.append(WantedFile(relpath=relpath, obj=obj))
    return sorted(wanted, key=lambda item: item.relpath)


def skipped_folder_markers(
    objects: Iterable[ObjectInfo], prefix: str, patterns: Sequence[str]
) -> dict[str, str]:
    """Keys ending in ``/`` that hold data: no file can have that name, so they are skipped,
    but said so (an empty one is only a folder marker and skipped without a word)."""
    return {
        obj.key: f"the key ends in '/' but holds {obj.size} byte(s); no file can take its name"
        for obj in objects
        if obj.key.endswith("/")
        and obj.size > 0
        and matches(relative_path(obj.key, prefix).rstrip("/"), patterns)
    }


def require_matches(wanted: Sequence[WantedFile], where: str, patterns: Sequence[str]) -> None:
    """The reference raised FileNotFoundError here; so do we, with a clearer message."""
    if not wanted:
        raise NoMatchingFilesError(f"no object under {where} matches file_pattern {list(patterns)}")


def check_safe(wanted: Sequence[WantedFile]) -> None:
    """Refuse, before anything is written, keys that cannot be stored safely."""
    problems = {item.obj.key: why for item in wanted if (why := path_problem(item.relpath))}
    by_path: dict[str, str] = {}
    for item in wanted:
        other = by_path.setdefault(item.relpath, item.obj.key)
        if other != item.obj.key:
            same = f"maps to the same local path {item.relpath!r} as"
            problems[item.obj.key] = f"{same} {other!r}"
            problems.setdefault(other, f"{same} {item.obj.key!r}")
    for item in wanted:
        parts = item.relpath.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in by_path:
                problems[item.obj.key] = (
                    f"its folder {folder!r} is also a file ({by_path[folder]!r})"
                )
    if problems:
        raise UnsafeKeyError(problems)


def check_case_clashes(wanted: Sequence[WantedFile]) -> None:
    """On a case-insensitive filesystem, refuse paths that differ only by case.

    There ``A.csv`` and ``a.csv`` are one file, and a file ``a`` is the folder ``A/``:
    fetching both would leave one object's bytes under the other's name.
    """
    by_folded: dict[str, str] = {}
    problems: dict[str, str] = {}
    for item in wanted:
        folded = item.relpath.casefold()
        if folded in by_folded:
            problems[item.obj.key] = (
                f"differs only by case from {by_folded[folded]!r}, "
                "and the destination filesystem ignores case"
            )
        by_folded.setdefault(folded, item.obj.key)
    for item in wanted:
        parts = item.relpath.casefold().split("/")
        for depth in range(1, len(parts)):
            clash = by_folded.get("/".join(parts[:depth]))
            if clash is not None:
                problems[item.obj.key] = (
                    f"its folder is also the file {clash!r} when case is ignored, "
                    "and the destination filesystem ignores case"
                )
    if problems:
        raise UnsafeKeyError(problems)


def path_problem(relpath: str) -> str | None:
    """Why ``relpath`` cannot be stored safely, or None when it can."""
    if "\0" in relpath:
        return "contains a NUL character"
    if relpath.startswith("/"):
        return "maps to an absolute path"
    parts = relpath.split("/")
    if ".." in parts:
        return "contains a '..' segment"
    if "." in parts or "" in parts:
        return "contains an empty or '.' segment"
    if parts[0] == STATE_DIR_NAME:
        return f"{STATE_DIR_NAME!r} is reserved for the ingester's own state"
    long = [part for part in parts if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES]
    if long:
        return f"a path segment is longer than {MAX_NAME_BYTES} bytes"
    return None


def check_timestamps(wanted: Sequence[WantedFile], tolerance_hours: float) -> None:
    """Refuse a selection whose LastModified times spread wider than the tolerance."""
    if tolerance_hours < 0 or len(wanted) < 2:
        return
    oldest = min(wanted, key=lambda item: item.obj.last_modified)
    newest = max(wanted, key=lambda item: item.obj.last_modified)
    spread = newest.obj.last_modified - oldest.obj.last_modified
    if spread.total_seconds() > tolerance_hours * 3600:
        raise TimestampToleranceError(
            f"selected objects were modified {spread} apart, more than the tolerance of "
            f"{tolerance_hours} hour(s): oldest {oldest.obj.key!r} "
            f"({oldest.obj.last_modified.isoformat()}), newest {newest.obj.key!r} "
            f"({newest.obj.last_modified.isoformat()})"
        )


def shard_of(key: str, count: int) -> int:
    """Which of ``count`` shards owns ``key``: a hash of the key alone (BLAKE2b, not
    Python's salted ``hash``), so every worker, on any machine and Python version, agrees."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def in_shard(selection: Selection, shard: tuple[int, int] | None) -> Selection:
    """The part of ``selection`` that shard ``(index, count)`` owns; all of it for None.
    ``present`` stays whole, so a file that moved to another shard (a new count) is left
    on disk, not deleted."""
    if shard is None:
        return selection
    index, count = shard
    wanted = [item for item in selection.wanted if shard_of(item.obj.key, count) == index]
    return dataclasses.replace(selection, wanted=wanted)
