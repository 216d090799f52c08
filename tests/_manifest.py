"""The local manifest as it lies on disk, read and rewritten with sqlite3 itself (not
through the library), so the tests pin the stored format."""

from __future__ import annotations

import contextlib
import pathlib
import sqlite3
from typing import Any

FIELDS = ("key", "size", "etag", "last_modified", "mtime_ns", "checksum")


def manifest_path(state_dir: pathlib.Path) -> pathlib.Path:
    return state_dir / "manifest.sqlite"


def read_manifest_at(state_dir: pathlib.Path) -> dict[str, Any]:
    """``{"format": ..., "version": ..., "files": {path: {field: value}}}``."""
    with contextlib.closing(sqlite3.connect(manifest_path(state_dir))) as db:
        document: dict[str, Any] = dict(db.execute("SELECT name, value FROM meta"))
        rows = db.execute(f"SELECT path, {', '.join(FIELDS)} FROM files")
        document["files"] = {path: dict(zip(FIELDS, rest, strict=True)) for path, *rest in rows}
    return document


def replace_files(state_dir: pathlib.Path, files: dict[str, dict[str, Any]]) -> None:
    """Make ``files`` the manifest's only rows, as another program might."""
    with contextlib.closing(sqlite3.connect(manifest_path(state_dir))) as db, db:
        db.execute("DELETE FROM files")
        db.executemany(
            f"INSERT INTO files VALUES (?, {', '.join('?' * len(FIELDS))})",
            [(path, *(record[name] for name in FIELDS)) for path, record in files.items()],
        )


def set_meta(state_dir: pathlib.Path, name: str, value: object) -> None:
    with contextlib.closing(sqlite3.connect(manifest_path(state_dir))) as db, db:
        db.execute("UPDATE meta SET value = ? WHERE name = ?", (value, name))
