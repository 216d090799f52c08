"""The S3 manifest (what Redshift's ``UNLOAD ... MANIFEST`` writes): where it is, what it says,
and the listed objects it narrows the dataset to. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ._models import ObjectInfo
from .errors import ManifestError


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One ``entries`` item of an S3 (Redshift UNLOAD) manifest."""

    bucket: str
    key: str
    content_length: int | None


def manifest_keys(prefix: str, name: str | None) -> tuple[str, ...]:
    """Where the manifest may be, first match wins.

    ``<prefix><name>`` is where UNLOAD writes it (``data/`` gives ``data/manifest``,
    ``data/part_`` gives ``data/part_manifest``). A prefix without its trailing ``/`` may
    also name a folder, so ``<prefix>/<name>`` is looked at second.
    """
    if name is None:
        return ()
    if not prefix or prefix.endswith("/"):
        return (prefix + name,)
    return (prefix + name, f"{prefix}/{name}")


def find_manifest(
    listed: Sequence[ObjectInfo], prefix: str, name: str | None
) -> tuple[ObjectInfo | None, tuple[ObjectInfo, ...]]:
    """The manifest object to read (or None), and every listed object that is a manifest
    by its place: none of them is ever data."""
    places = manifest_keys(prefix, name)
    found = {obj.key: obj for obj in listed if obj.key in places}
    chosen = next((found[key] for key in places if key in found), None)
    return chosen, tuple(found.values())


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
    narrowing = ManifestFilter(manifest_key, entries, bucket)
    chosen = narrowing.keep(listed.values())
    narrowing.finish()
    return chosen


class ManifestFilter:
    """The S3 manifest applied to a listing page by page, in any order: only the objects it
    names pass (:meth:`keep`); once the listing is complete, :meth:`finish` refuses a
    dataset that misses one of them, holds one of another size, or names another bucket."""

    def __init__(self, manifest_key: str, entries: Sequence[ManifestEntry], bucket: str) -> None:
        self._manifest_key = manifest_key
        self._bucket = bucket
        self._problems = [
            f"s3://{entry.bucket}/{entry.key} is in another bucket"
            for entry in entries
            if entry.bucket != bucket
        ]
        self._sizes: dict[str, list[int | None]] = {}  # key -> the lengths its entries give
        for entry in entries:
            if entry.bucket == bucket:
                self._sizes.setdefault(entry.key, []).append(entry.content_length)
        self._seen: set[str] = set()

    def keep(self, objects: Iterable[ObjectInfo]) -> list[ObjectInfo]:
        """The objects of one page that the manifest names with their size."""
        kept = []
        for obj in objects:
            sizes = self._sizes.get(obj.key)
            if sizes is None:
                continue
            self._seen.add(obj.key)
            wrong = [size for size in sizes if size is not None and size != obj.size]
            if wrong:
                self._problems.append(
                    f"s3://{self._bucket}/{obj.key} has {obj.size} bytes, "
                    f"the manifest says {wrong[0]}"
                )
            else:
                kept.append(obj)
        return kept

    def finish(self) -> None:
        """Refuse the dataset if the manifest and the listing disagree."""
        missing = [key for key in self._sizes if key not in self._seen]
        problems = self._problems + [
            f"s3://{self._bucket}/{key} is missing under the prefix" for key in missing
        ]
        if problems:
            shown = "\n  ".join(problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise ManifestError(
                f"dataset is incomplete: S3 manifest {self._manifest_key!r} lists objects "
                f"that do not match S3:\n  {shown}{more}"
            )
