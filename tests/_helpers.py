"""Small helpers the test modules share."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

from aio_s3_ingest import AsyncS3Ingester

STATE_DIR = ".aio-s3-ingest"

MakeIngester = Callable[..., AsyncS3Ingester]
"""The type of the ``make_ingester`` fixture."""


def data_files(root: pathlib.Path) -> list[str]:
    """Every regular file under ``root`` outside the state folder, as sorted posix paths."""
    if not root.exists():
        return []
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and STATE_DIR not in path.relative_to(root).parts
    )
