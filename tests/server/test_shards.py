"""One dataset fetched by several shards into the same directory, as workers of a cluster
sharing a filesystem would: disjoint shares, one manifest and lock each, no shard
deleting what another owns."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester
from aio_s3_ingest._select import shard_of
from tests._cli import run_cli
from tests._transfer import KiB, put_random

Make = Callable[..., AsyncS3Ingester]
COUNT = 3


def put_dataset(s3: Any, bucket: str, files: int = 30) -> dict[str, bytes]:
    """Small objects, and one large enough to be fetched in ranges."""
    bodies = {
        f"part-{i:02d}.bin": put_random(s3, bucket, f"data/part-{i:02d}.bin", 3 * KiB)[0]
        for i in range(files)
    }
    bodies["big.bin"] = put_random(s3, bucket, "data/big.bin", 3 * 1024 * KiB)[0]
    return bodies


def files_in(dataset: pathlib.Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(dataset)): path.read_bytes()
        for path in dataset.rglob("*")
        if path.is_file() and ".aio-s3-ingest" not in path.parts
    }


@pytest.mark.asyncio
async def test_shards_fetch_disjoint_shares_whose_union_is_the_dataset(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: Make
) -> None:
    """Three shards at once into one directory: each fetches only its keys, together
    every file, byte for byte what one unsharded run fetches; each keeps its own state."""
    bodies = put_dataset(s3, bucket)
    options = {"part_size": 1024 * KiB, "workers_per_file": 2}
    shards = [make_ingester(shard=(i, COUNT), **options) for i in range(COUNT)]
    reports = await asyncio.gather(*(shard.sync() for shard in shards))
    for index, report in enumerate(reports):
        assert all(shard_of(f"data/{rel}", COUNT) == index for rel in report.fetched)
        assert report.kept == ()
    fetched = [rel for report in reports for rel in report.fetched]
    assert sorted(fetched) == sorted(bodies)  # disjoint, and every file once
    assert files_in(dest / "ds") == bodies
    whole = await make_ingester(dataset_id="whole").fetch_data()
    assert files_in(dest / "whole") == files_in(dest / "ds")
    assert len(whole) == len(bodies)
    state = dest / "ds" / ".aio-s3-ingest"
    assert sorted(p.name for p in state.iterdir()) == [f"shard-{i}-of-3" for i in range(3)]
    for i in range(COUNT):
        assert (state / f"shard-{i}-of-3" / "manifest.sqlite").exists()


@pytest.mark.asyncio
async def test_a_second_run_of_every_shard_is_a_cache_hit(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: Make
) -> None:
    put_dataset(s3, bucket, files=12)
    for i in range(COUNT):
        await make_ingester(shard=(i, COUNT)).sync()
    for i in range(COUNT):
        report = await make_ingester(shard=(i, COUNT)).sync()
        assert report.fetched == ()
        assert len(report.kept) == len(report.paths)
        assert report.paths  # 13 keys over 3 shards: none is empty


@pytest.mark.asyncio
async def test_a_removed_object_is_deleted_by_its_owner_only(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: Make
) -> None:
    """A removed object's file is deleted by the shard that fetched it, and left alone by
    the others; a changed object is fetched again by its owner alone."""
    put_dataset(s3, bucket, files=12)
    for i in range(COUNT):
        await make_ingester(shard=(i, COUNT)).sync()
    gone, changed = "data/part-03.bin", "data/part-07.bin"
    s3.delete_object(Bucket=bucket, Key=gone)
    new_body = put_random(s3, bucket, changed, 5 * KiB)[0]
    owner_gone, owner_changed = shard_of(gone, COUNT), shard_of(changed, COUNT)
    for i in range(COUNT):
        report = await make_ingester(shard=(i, COUNT)).sync()
        assert report.deleted == (("part-03.bin",) if i == owner_gone else ())
        assert report.fetched == (("part-07.bin",) if i == owner_changed else ())
    assert not (dest / "ds" / "part-03.bin").exists()
    assert (dest / "ds" / "part-07.bin").read_bytes() == new_body


def test_the_command_line_fetches_one_share(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    bodies = put_dataset(s3, bucket, files=8)
    argv = [f"s3://{bucket}/data/", str(tmp_path), "--dataset-id", "ds", "-q"]
    argv += ["--endpoint-url", moto_endpoint]
    done = run_cli(*argv, "--shard", "1/2")
    assert done.returncode == 0, done.stderr
    mine = {rel for rel in bodies if shard_of(f"data/{rel}", 2) == 1}
    assert set(files_in(tmp_path / "ds")) == mine
    refused = run_cli(*argv, "--shard", "2/2")
    assert refused.returncode == 2
    assert "--shard" in refused.stderr
