"""What the sync tests share: three objects, an ingester via the proxy, the local manifest."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from aio_s3_ingest import AsyncS3Ingester
from tests._helpers import MakeIngester
from tests._manifest import read_manifest_at
from tests._proxy import FaultProxy

FILES = {
    "data/a.csv": b"a,b\n1,2\n",
    "data/sub/b.csv": b"x\n" * 500,
    "data/sub/deep/c.bin": bytes(range(256)) * 40,
}
ALL_KEYS = sorted(FILES)


@pytest.fixture(name="dataset")
def dataset_fixture(s3: Any, bucket: str, dest: pathlib.Path) -> pathlib.Path:
    """The three objects of FILES in S3; returns the dataset directory they sync to."""
    for key, body in FILES.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return dest / "ds"


@pytest_asyncio.fixture(name="ingester")
async def ingester_fixture(
    make_ingester: MakeIngester, proxy: FaultProxy
) -> AsyncIterator[AsyncS3Ingester]:
    """An ingester that reaches S3 through the proxy, its client kept open for the test."""
    async with make_ingester(endpoint_url=proxy.url) as ingester:
        yield ingester


async def first_then_count(ingester: AsyncS3Ingester, proxy: FaultProxy) -> None:
    """Run once, then forget what the proxy saw, so a test counts only its next run."""
    await ingester.fetch_data()
    proxy.reset_stats()


def fetched(proxy: FaultProxy) -> list[str]:
    """The data keys GET since the last reset, sorted, with repeats."""
    return sorted(x.key for x in proxy.data_gets())


def assert_matches_s3(dataset: pathlib.Path, files: dict[str, bytes]) -> None:
    for key, body in files.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body, key


def read_manifest(dataset: pathlib.Path) -> dict[str, Any]:
    return read_manifest_at(dataset / ".aio-s3-ingest")
