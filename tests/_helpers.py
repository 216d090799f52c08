"""Small helpers the test modules share."""

from __future__ import annotations

import importlib.util
import pathlib
from collections.abc import Callable
from typing import Any

from aio_s3_ingest import AsyncS3Ingester

STATE_DIR = ".aio-s3-ingest"
TYPING_API = pathlib.Path(__file__).parent / "typing" / "api.py"

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


def load_typing_api() -> Any:
    """``tests/typing/api.py`` (the typed uses of the public API), imported afresh."""
    spec = importlib.util.spec_from_file_location("_typing_api_under_test", TYPING_API)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_landed(dataset: pathlib.Path, objects: dict[str, bytes]) -> None:
    """Every object under ``data/`` is its file, byte exact, nothing else is, and no temp
    file is left."""
    assert data_files(dataset) == sorted(key.removeprefix("data/") for key in objects)
    for key, body in objects.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body, key
    assert list((dataset / STATE_DIR / "tmp").iterdir()) == []
