"""The timestamp tolerance against a real endpoint, on objects modified a second apart."""

from __future__ import annotations

import pathlib
import time

import anyio
import pytest

from aio_s3_ingest import TimestampToleranceError
from tests._helpers import MakeIngester, data_files
from tests._listing import module_client, new_bucket, put, shared_ingester


@pytest.fixture(scope="module")
def spread_bucket(moto_endpoint: str) -> str:
    """A bucket holding ``data/old.csv`` and, more than a second later, ``data/new.csv``.

    moto stamps LastModified with the upload time to the second, so the sleep is
    what makes the two timestamps differ; the bucket is shared to pay for it once.
    """
    client = module_client(moto_endpoint)
    name = new_bucket(client, "spread")
    put(client, name, "data/old.csv")
    time.sleep(1.1)  # LastModified has one-second resolution: the timestamps must differ
    put(client, name, "data/new.csv")
    stamps = {o["Key"]: o["LastModified"] for o in client.list_objects_v2(Bucket=name)["Contents"]}
    assert stamps["data/new.csv"] > stamps["data/old.csv"]
    return name


@pytest.fixture
def spread_ingester(moto_endpoint: str, spread_bucket: str, dest: pathlib.Path) -> MakeIngester:
    """Ingesters on the shared spread bucket."""
    return shared_ingester(moto_endpoint, spread_bucket, dest)


@pytest.mark.asyncio
async def test_timestamp_spread_beyond_tolerance_raises(
    spread_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """Tolerance 0 refuses objects modified a second apart, naming both, before writing."""
    with pytest.raises(TimestampToleranceError) as info:
        await spread_ingester(s3_timestamp_tolerance=0).fetch_data()
    assert "'data/old.csv'" in str(info.value)
    assert "'data/new.csv'" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.parametrize("tolerance", [-1, 1, 24.0])
@pytest.mark.asyncio
async def test_timestamp_spread_within_tolerance_or_off_passes(
    spread_ingester: MakeIngester, dest: pathlib.Path, tolerance: float
) -> None:
    """Tolerance -1 never checks; an hour or more accepts a spread of seconds."""
    await spread_ingester(s3_timestamp_tolerance=tolerance).fetch_data()
    assert data_files(dest / "ds") == ["new.csv", "old.csv"]


@pytest.mark.asyncio
async def test_timestamp_tolerance_only_considers_selected_objects(
    spread_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """An object the pattern excludes does not count toward the spread."""
    await spread_ingester(s3_timestamp_tolerance=0, file_pattern="new.csv").fetch_data()
    assert data_files(dest / "ds") == ["new.csv"]
