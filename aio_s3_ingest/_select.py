"""From the listed candidates to the wanted set: local paths, patterns, safety checks. Pure."""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from collections.abc import Iterator, Sequence, Sized

from ._models import WantedFile
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


class Patterns:
    """The file patterns, compiled once for a run: fnmatch against the relative path, and a
    pattern without '/' also against the basename (one regular expression for each)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._whole = _one_expression(patterns)
        names = [pattern for pattern in patterns if "/" not in pattern]
        self._names = _one_expression(names) if names else None

    def __call__(self, relpath: str) -> bool:
        if self._whole.match(relpath) is not None:
            return True
        names = self._names
        return names is not None and names.match(relpath[relpath.rfind("/") + 1 :]) is not None


def _one_expression(patterns: Sequence[str]) -> re.Pattern[str]:
    if not patterns:
        return re.compile("(?!)")  # matches nothing
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))


@functools.lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> Patterns:
    return Patterns(patterns)


def matches(relpath: str, patterns: Sequence[str]) -> bool:
    """fnmatch against the relative path; a pattern without '/' also tries the basename."""
    return _compiled(tuple(patterns))(relpath)


def require_matches(wanted: Sized, where: str, patterns: Sequence[str]) -> None:
    """The reference raised FileNotFoundError here; so do we, with a clearer message."""
    if not wanted:
        raise NoMatchingFilesError(f"no object under {where} matches file_pattern {list(patterns)}")


class WantedPaths:
    """The wanted files' relative paths, added one at a time in any order, and the keys
    that cannot be stored safely: an unsafe path, two keys on one path, a file where
    another needs a folder.

    A key is kept only when it is not ``base + relpath`` (the usual case is rebuilt from
    the path), so a large listing's keys need not stay in memory for the checks.
    """

    def __init__(self, base: str = "") -> None:
        self._base = base
        self._keys: dict[str, str | None] = {}
        self._problems: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, relpath: object) -> bool:
        return relpath in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def add(self, relpath: str, key: str) -> None:
        """One more wanted file; its problems are kept for :meth:`problems`."""
        if why := path_problem(relpath):
            self._problems[key] = why
        if relpath not in self._keys:
            self._keys[relpath] = None if key == self._base + relpath else key
            return
        other = self.key_of(relpath)
        if other != key:
            same = f"maps to the same local path {relpath!r} as"
            self._problems[key] = f"{same} {other!r}"
            self._problems.setdefault(other, f"{same} {key!r}")

    def key_of(self, relpath: str) -> str:
        """The key (the first one added) of a wanted path."""
        key = self._keys[relpath]
        return self._base + relpath if key is None else key

    def problems(self) -> dict[str, str]:
        """Every problem found, with the files that lie below another file added."""
        problems = dict(self._problems)
        files_as_folders: dict[str, str | None] = {}  # folder -> the file that takes its name
        for relpath in self._keys:
            folder = relpath[: relpath.rfind("/") + 1]
            if not folder:
                continue
            if folder not in files_as_folders:
                files_as_folders[folder] = self._file_among_folders(folder)
            if (blocking := files_as_folders[folder]) is not None:
                problems[self.key_of(relpath)] = (
                    f"its folder {blocking!r} is also a file ({self.key_of(blocking)!r})"
                )
        return problems

    def _file_among_folders(self, folder: str) -> str | None:
        """The innermost of ``folder``'s folders (``a/b/`` gives ``a/b``, then ``a``) that
        is also a wanted file, or None."""
        end = len(folder) - 1
        while end > 0:
            if folder[:end] in self._keys:
                return folder[:end]
            end = folder.rfind("/", 0, end)
        return None


def check_case_clashes(wanted: Sequence[tuple[str, str]]) -> None:
    """On a case-insensitive filesystem, refuse paths that differ only by case (``wanted``:
    each file's relative path and key, sorted by path).

    There ``A.csv`` and ``a.csv`` are one file, and a file ``a`` is the folder ``A/``:
    fetching both would leave one object's bytes under the other's name.
    """
    by_folded: dict[str, str] = {}
    problems: dict[str, str] = {}
    for relpath, key in wanted:
        folded = relpath.casefold()
        if folded in by_folded:
            problems[key] = (
                f"differs only by case from {by_folded[folded]!r}, "
                "and the destination filesystem ignores case"
            )
        by_folded.setdefault(folded, key)
    for relpath, key in wanted:
        parts = relpath.casefold().split("/")
        for depth in range(1, len(parts)):
            clash = by_folded.get("/".join(parts[:depth]))
            if clash is not None:
                problems[key] = (
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
