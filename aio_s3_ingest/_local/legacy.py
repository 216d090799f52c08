"""Manifests of versions 1 and 2: one JSON document, ``manifest.json``, rewritten whole by
every run. Still read, so that an upgrade keeps the cache; the next save moves their
records into the database (:mod:`.manifest`) and removes the file."""

from __future__ import annotations

import json
import pathlib

from .._models import FileRecord
from .records import checked_path, record_from

FORMAT = "aio-s3-ingest.manifest"
LEGACY_NAME = "manifest.json"
_READABLE_VERSIONS = (1, 2)  # 2 added each record's checksum


def read_legacy(path: pathlib.Path) -> dict[str, FileRecord] | None:
    """The records of a JSON manifest, None if there is none; ValueError or TypeError
    if it is damaged or of another version."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError("not an aio-s3-ingest manifest")
    if document.get("version") not in _READABLE_VERSIONS:
        raise ValueError(f"unsupported manifest version {document.get('version')!r}")
    files = document["files"]
    if not isinstance(files, dict):
        raise TypeError("'files' is not an object")
    return {checked_path(path): record_from(item) for path, item in files.items()}
