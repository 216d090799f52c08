"""From a listing to the wanted set: S3 manifest, patterns, safe local paths. Pure."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ._models import ObjectInfo, WantedFile
from .errors import ManifestError, NoMatchingFilesError, TimestampToleranceError, UnsafeKeyError

STATE_DIR_NAME = ".aio-s3-ingest"
"""Hidden folder in the dataset directory that holds the local manifest, lock and temp files."""

MAX_NAME_BYTES = 255


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One ``entries`` item of an S3 (Redshift UNLOAD) manifest."""

    bucket: str
    key: str
    content_length: int | None


def base_of(prefix: str) -> str:
    """The folder keys are made relative to: a prefix ending inside a name maps to its folder."""
    return prefix[: prefix.rfind("/") + 1]


def relative_path(key: str, base: str) -> str:
    """The path of ``key`` relative to ``base`` (its folder-prefix)."""
    return key[len(base) :]


def parse_s3_manifest(key: str, body: bytes) -> list[ManifestEntry]:
    """Parse ``{"entries": [{"url": "s3://bucket/key", "meta": {"content_length": N}}]}``."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"S3 manifest {key!r} is not valid JSON: {exc}") from exc
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ManifestError(f"S3 manifest {key!r} has no 'entries' list")
    return [_parse_entry(key, index, entry) for index, entry in enumerate(entries)]


def _parse_entry(manifest_key: str, index: int, entry: object) -> ManifestEntry:
    where = f"S3 manifest {manifest_key!r}, entry {index}"
    url = entry.get("url") if isinstance(entry, dict) else None
    if not isinstance(url, str) or not url.startswith("s3://") or "/" not in url[5:]:
        raise ManifestError(f"{where}: 'url' must be 's3://bucket/key', got {url!r}")
    bucket, _, key = url[5:].partition("/")
    assert isinstance(entry, dict)
    meta = entry.get("meta")
    length = meta.get("content_length") if isinstance(meta, dict) else None
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)):
        raise ManifestError(f"{where}: 'content_length' must be an integer, got {length!r}")
    return ManifestEntry(bucket=bucket, key=key, content_length=length)


def apply_s3_manifest(
    manifest_key: str,
    entries: Sequence[ManifestEntry],
    listed: Mapping[str, ObjectInfo],
    bucket: str,
) -> list[ObjectInfo]:
    """Keep only the listed objects the manifest names; a dataset missing any is an error."""
    problems: list[str] = []
    chosen: dict[str, ObjectInfo] = {}
    for entry in entries:
        obj = listed.get(entry.key) if entry.bucket == bucket else None
        if entry.bucket != bucket:
            problems.append(f"s3://{entry.bucket}/{entry.key} is in another bucket")
        elif obj is None:
            problems.append(f"s3://{bucket}/{entry.key} is missing under the prefix")
        elif entry.content_length is not None and entry.content_length != obj.size:
            problems.append(
                f"s3://{bucket}/{entry.key} has {obj.size} bytes, "
                f"the manifest says {entry.content_length}"
            )
        else:
            chosen[obj.key] = obj
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ManifestError(
            f"dataset is incomplete: S3 manifest {manifest_key!r} lists objects "
            f"that do not match S3:\n  {shown}{more}"
        )
    return list(chosen.values())


def matches(relpath: str, patterns: Iterable[str]) -> bool:
    """fnmatch against the relative path; a pattern without '/' also tries the basename."""
    basename = relpath.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatchcase(relpath, pattern)
        or ("/" not in pattern and fnmatch.fnmatchcase(basename, pattern))
        for pattern in patterns
    )


def select(objects: Iterable[ObjectInfo], base: str, patterns: Sequence[str]) -> list[WantedFile]:
    """The objects whose relative path matches, folder markers skipped, sorted by path."""
    wanted = [
        WantedFile(relpath=relative_path(obj.key, base), obj=obj)
        for obj in objects
        if not obj.key.endswith("/") and matches(relative_path(obj.key, base), patterns)
    ]
    return sorted(wanted, key=lambda item: item.relpath)


def require_matches(wanted: Sequence[WantedFile], where: str, patterns: Sequence[str]) -> None:
    """The reference raised FileNotFoundError here; so do we, with a clearer message."""
    if not wanted:
        raise NoMatchingFilesError(f"no object under {where} matches file_pattern {list(patterns)}")


def check_safe(wanted: Sequence[WantedFile]) -> None:
    """Refuse, before anything is written, keys that cannot be stored safely."""
    problems = {item.obj.key: why for item in wanted if (why := path_problem(item.relpath))}
    by_path = {item.relpath: item.obj.key for item in wanted}
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
