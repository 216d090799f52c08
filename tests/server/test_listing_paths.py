"""Listing a real endpoint: every page is followed, and each key lands relative to the prefix."""

from __future__ import annotations

import pathlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.config import Config

from tests._helpers import MakeIngester, data_files
from tests._listing import module_client, put


def _drop_expect_header(request: Any, **_: Any) -> None:
    # botocore sends "Expect: 100-continue" with every PUT body and waits for the
    # interim answer; against the local server that round trip only costs time.
    request.headers.pop("Expect", None)


@pytest.fixture
def fast_s3(moto_endpoint: str) -> Any:
    """A boto3 client tuned for many tiny uploads from a thread pool."""
    config = Config(max_pool_connections=16, request_checksum_calculation="when_required")
    client = module_client(moto_endpoint, config)
    client.meta.events.register("before-send.s3.PutObject", _drop_expect_header)
    return client


# --- pagination ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_listing_follows_every_page(
    fast_s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A prefix with 2,500 objects (three ListObjectsV2 pages) yields all 2,500 local files."""
    count = 2500
    # Objects on both sides of each 1,000-key page boundary carry their index as body;
    # the others are empty, so the run costs one listing per page and few GETs.
    with_body = {0, 999, 1000, 1999, 2000, count - 1}

    def upload(i: int) -> None:
        body = f"{i:05d}".encode() if i in with_body else b""
        fast_s3.put_object(Bucket=bucket, Key=f"data/{i:05d}.txt", Body=body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(upload, range(count)))

    paths = await make_ingester().fetch_data()
    root = dest / "ds"
    assert paths == [root / f"{i:05d}.txt" for i in range(count)]
    assert len(data_files(root)) == count
    for i in sorted(with_body):
        assert (root / f"{i:05d}.txt").read_bytes() == f"{i:05d}".encode()


# --- key -> relative path --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_keys_land_relative_to_the_prefix(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """``prefix/sub/a.csv`` lands at ``<dataset>/sub/a.csv`` with the object's bytes."""
    put(s3, bucket, "data/sub/a.csv", "data/top.csv", "data/sub/deeper/b.csv", "elsewhere/c.csv")
    paths = await make_ingester().fetch_data()
    root = dest / "ds"
    assert paths == [root / "sub/a.csv", root / "sub/deeper/b.csv", root / "top.csv"]
    assert (root / "sub/a.csv").read_bytes() == b"data/sub/a.csv"
    assert (root / "sub/deeper/b.csv").read_bytes() == b"data/sub/deeper/b.csv"
    assert data_files(root) == ["sub/a.csv", "sub/deeper/b.csv", "top.csv"]


@pytest.mark.asyncio
async def test_same_basename_in_two_folders_both_land(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Two keys with the same basename in different folders are two distinct local files."""
    put(s3, bucket, "data/2024/part.csv", "data/2025/part.csv", "data/part.csv")
    await make_ingester().fetch_data()
    root = dest / "ds"
    assert data_files(root) == ["2024/part.csv", "2025/part.csv", "part.csv"]
    assert (root / "2024/part.csv").read_bytes() == b"data/2024/part.csv"
    assert (root / "2025/part.csv").read_bytes() == b"data/2025/part.csv"


@pytest.mark.asyncio
async def test_prefix_ending_inside_a_name_maps_relative_to_its_folder(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """With prefix ``data/file_``, ``data/file_1.csv`` lands at ``file_1.csv``; others stay out."""
    put(s3, bucket, "data/file_1.csv", "data/file_2/x.csv", "data/other.csv")
    paths = await make_ingester("data/file_").fetch_data()
    root = dest / "ds"
    assert paths == [root / "file_1.csv", root / "file_2/x.csv"]
    assert (root / "file_1.csv").read_bytes() == b"data/file_1.csv"


@pytest.mark.asyncio
async def test_prefix_without_trailing_slash_names_a_folder_for_keys_below_it(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Prefix ``data``: ``data/a.csv`` lands at ``a.csv``; ``database/b.csv``, which continues
    the prefix inside a name, keeps its path from the bucket root."""
    put(s3, bucket, "data/a.csv", "database/b.csv", "other/c.csv")
    await make_ingester("data").fetch_data()
    assert data_files(dest / "ds") == ["a.csv", "database/b.csv"]


@pytest.mark.asyncio
async def test_folder_markers_are_skipped(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Zero-byte keys ending in '/' are folder markers: no file, no folder, no path returned."""
    for marker in ("data/", "data/sub/", "data/empty/"):
        s3.put_object(Bucket=bucket, Key=marker, Body=b"")
    put(s3, bucket, "data/sub/a.csv")
    paths = await make_ingester().fetch_data()
    root = dest / "ds"
    assert paths == [root / "sub/a.csv"]
    assert data_files(root) == ["sub/a.csv"]
    assert not (root / "empty").exists()


@pytest.mark.asyncio
async def test_empty_prefix_fetches_the_whole_bucket(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Prefix "" selects every key in the bucket, each at its full key path."""
    put(s3, bucket, "a.csv", "sub/b.csv", "x/y/z.bin")
    paths = await make_ingester("").fetch_data()
    root = dest / "ds"
    assert paths == [root / "a.csv", root / "sub/b.csv", root / "x/y/z.bin"]
    assert (root / "x/y/z.bin").read_bytes() == b"x/y/z.bin"
