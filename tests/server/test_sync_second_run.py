"""Incremental sync: what a second run fetches after a change in S3 or on disk, and only that."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._sync import (
    ALL_KEYS,
    FILES,
    assert_matches_s3,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    fetched,
    first_then_count,
    ingester_fixture,  # noqa: F401 - the "ingester" fixture
    read_manifest,
)


@pytest.mark.asyncio
@pytest.mark.parametrize("with_s3_manifest", [False, True])
async def test_second_run_with_nothing_changed_gets_no_data(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    ingester: AsyncS3Ingester,
    proxy: FaultProxy,
    with_s3_manifest: bool,
) -> None:
    """A second run with nothing changed sends no GET for any data object (nor a HEAD)."""
    if with_s3_manifest:
        entries = [
            {"url": f"s3://{bucket}/{k}", "meta": {"content_length": len(v)}}
            for k, v in FILES.items()
        ]
        s3.put_object(Bucket=bucket, Key="data/manifest", Body=json.dumps({"entries": entries}))
    first = await ingester.fetch_data()
    assert fetched(proxy) == ALL_KEYS
    proxy.reset_stats()
    assert await ingester.fetch_data() == first
    assert fetched(proxy) == []
    assert [x.method for x in proxy.exchanges if x.method != "GET"] == []
    assert {x.key for x in proxy.exchanges} <= {"", "data/manifest"}
    assert_matches_s3(dataset, FILES)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "new_body", [b"y\n" * 500, b"y\n" * 501], ids=["same-size-new-etag", "new-size"]
)
async def test_a_changed_object_is_fetched_again_and_only_it(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    ingester: AsyncS3Ingester,
    proxy: FaultProxy,
    new_body: bytes,
) -> None:
    """An object rewritten in S3 (new ETag, or new size) is the only one fetched again."""
    await first_then_count(ingester, proxy)
    s3.put_object(Bucket=bucket, Key="data/sub/b.csv", Body=new_body)
    await ingester.fetch_data()
    assert fetched(proxy) == ["data/sub/b.csv"]
    assert_matches_s3(dataset, {**FILES, "data/sub/b.csv": new_body})


@pytest.mark.asyncio
async def test_a_locally_deleted_file_is_fetched_again_and_only_it(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """A tracked file removed from disk is fetched again, and nothing else is."""
    await first_then_count(ingester, proxy)
    (dataset / "sub" / "deep" / "c.bin").unlink()
    await ingester.fetch_data()
    assert fetched(proxy) == ["data/sub/deep/c.bin"]
    assert_matches_s3(dataset, FILES)


def _append(path: pathlib.Path) -> None:
    with path.open("ab") as handle:
        handle.write(b"local edit")


def _touch(path: pathlib.Path) -> None:
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))


@pytest.mark.asyncio
@pytest.mark.parametrize("edit", [_append, _touch], ids=["size-changed", "mtime-changed"])
async def test_a_locally_modified_file_is_fetched_again(
    dataset: pathlib.Path,
    ingester: AsyncS3Ingester,
    proxy: FaultProxy,
    edit: Callable[[pathlib.Path], None],
) -> None:
    """A tracked file whose size or mtime changed on disk is fetched again, and only it."""
    await first_then_count(ingester, proxy)
    edit(dataset / "a.csv")
    await ingester.fetch_data()
    assert fetched(proxy) == ["data/a.csv"]
    assert_matches_s3(dataset, FILES)


@pytest.mark.asyncio
async def test_an_object_deleted_in_s3_is_deleted_locally_with_its_empty_folder(
    s3: Any, bucket: str, dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """A tracked file whose object is gone is deleted, the folder it leaves empty too."""
    await first_then_count(ingester, proxy)
    s3.delete_object(Bucket=bucket, Key="data/sub/deep/c.bin")
    paths = await ingester.fetch_data()
    assert paths == [dataset / "a.csv", dataset / "sub" / "b.csv"]
    assert fetched(proxy) == []
    assert not (dataset / "sub" / "deep").exists()
    assert (dataset / "sub" / "b.csv").exists()
    assert "sub/deep/c.bin" not in read_manifest(dataset)["files"]


@pytest.mark.asyncio
async def test_force_recompute_fetches_everything(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """fetch_data(force_recompute=True) fetches every file again, though all are current."""
    await first_then_count(ingester, proxy)
    await ingester.fetch_data(force_recompute=True)
    assert fetched(proxy) == ALL_KEYS
    assert_matches_s3(dataset, FILES)
