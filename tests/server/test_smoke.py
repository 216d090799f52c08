"""The shortest path through the library: fetch, then a cache hit."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester


@pytest.mark.asyncio
async def test_fetch_then_cache_hit(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: Callable[..., AsyncS3Ingester]
) -> None:
    """A first call fetches every object; a second returns the same paths."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=bucket, Key="data/sub/b.csv", Body=b"x\n")
    ingester = make_ingester()
    paths = await ingester.fetch_data()
    assert paths == [dest / "ds" / "a.csv", dest / "ds" / "sub" / "b.csv"]
    assert paths[0].read_bytes() == b"a,b\n1,2\n"
    assert await ingester.fetch_data() == paths
