"""Incremental sync with a narrower pattern: files it leaves out stay on disk unless pruned."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from tests._helpers import MakeIngester
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._sync import (
    FILES,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    fetched,
    first_then_count,
    read_manifest,
)


@pytest.mark.asyncio
async def test_a_narrower_pattern_is_a_cache_hit_that_deletes_nothing(
    dataset: pathlib.Path, make_ingester: MakeIngester, proxy: FaultProxy
) -> None:
    """Narrowing file_pattern returns only the matching files and leaves the others on disk,
    as ``aws s3 sync --delete`` leaves excluded files: no GET, nothing deleted."""
    await first_then_count(make_ingester(endpoint_url=proxy.url), proxy)
    narrowed = make_ingester(endpoint_url=proxy.url, file_pattern="*.csv")
    report = await narrowed.sync()
    assert report.paths == [dataset / "a.csv", dataset / "sub" / "b.csv"]
    assert report.unselected == ("sub/deep/c.bin",)
    assert report.deleted == ()
    assert "1 unselected file(s) left on disk" in report.summary()
    assert (dataset / "sub" / "deep" / "c.bin").read_bytes() == FILES["data/sub/deep/c.bin"]
    assert fetched(proxy) == []
    assert sorted(read_manifest(dataset)["files"]) == ["a.csv", "sub/b.csv", "sub/deep/c.bin"]
    assert await make_ingester(endpoint_url=proxy.url).fetch_data() == [
        dataset / "a.csv",
        dataset / "sub" / "b.csv",
        dataset / "sub" / "deep" / "c.bin",
    ]
    assert fetched(proxy) == []


@pytest.mark.asyncio
async def test_an_unselected_file_is_deleted_once_its_object_leaves_s3(
    s3: Any, bucket: str, dataset: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A file outside the pattern is still deleted when its object is removed from S3."""
    await make_ingester().fetch_data()
    s3.delete_object(Bucket=bucket, Key="data/sub/deep/c.bin")
    report = await make_ingester(file_pattern="*.csv").sync()
    assert report.deleted == ("sub/deep/c.bin",)
    assert not (dataset / "sub" / "deep").exists()


@pytest.mark.asyncio
async def test_prune_unselected_deletes_tracked_files_outside_the_pattern(
    dataset: pathlib.Path, make_ingester: MakeIngester, proxy: FaultProxy
) -> None:
    """prune_unselected=True deletes the tracked files a narrower pattern drops, never the
    user's own files."""
    await first_then_count(make_ingester(endpoint_url=proxy.url), proxy)
    user_files = [dataset / "notes.txt", dataset / "sub" / "deep" / "mine.bin", dataset / "x.csv"]
    for path in user_files:
        path.write_bytes(b"the user's")
    narrowed = make_ingester(endpoint_url=proxy.url, file_pattern="*.csv", prune_unselected=True)
    report = await narrowed.sync()
    assert report.paths == [dataset / "a.csv", dataset / "sub" / "b.csv"]
    assert report.deleted == ("sub/deep/c.bin",)
    assert not (dataset / "sub" / "deep" / "c.bin").exists()
    assert all(path.read_bytes() == b"the user's" for path in user_files)
    assert fetched(proxy) == []
    assert sorted(read_manifest(dataset)["files"]) == ["a.csv", "sub/b.csv"]
