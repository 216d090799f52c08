"""The thread-based ingester's documented example and its test suite's layouts, as they land.

A prefix without its trailing ``/`` names a folder for the keys that continue it with
``/``; its S3 manifest may sit inside that folder.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import anyio
import pytest

from aio_s3_ingest import AsyncS3Ingester, S3Ingester, UnsafeKeyError
from aio_s3_ingest._config import default_dataset_id
from tests._helpers import STATE_DIR, MakeIngester, data_files
from tests._manifest import read_manifest_at, replace_files


def put(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    """Upload each key with its body."""
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def manifest_of(bucket: str, objects: dict[str, bytes]) -> bytes:
    """An UNLOAD-style manifest listing ``objects`` with their sizes."""
    entries = [
        {"url": f"s3://{bucket}/{key}", "meta": {"content_length": len(body)}}
        for key, body in objects.items()
    ]
    return json.dumps({"entries": entries}).encode()


def test_the_reference_example_lands_at_the_dataset_top(
    s3: Any,
    bucket: str,
    moto_endpoint: str,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reference's example, prefix ``kaggle/ashishpatel26/indian-food-101`` and
    dataset_id ``indian_food``, gives ``data/indian_food/indian_food.csv``.

    (Its ``file_pattern="file_*.csv"`` cannot match the file it shows, so ``*.csv`` here.)
    """
    body = b"name,ingredients\nBalu shahi,Maida flour\n"
    put(s3, bucket, {"kaggle/ashishpatel26/indian-food-101/indian_food.csv": body})
    monkeypatch.chdir(tmp_path)
    ingester = S3Ingester(
        s3_bucket_name=bucket,
        s3_key_prefix="kaggle/ashishpatel26/indian-food-101",
        file_pattern="*.csv",
        dataset_id="indian_food",
        destination_directory="data",
        aws_region_name="eu-west-1",
        s3_timestamp_tolerance=2,
        endpoint_url=moto_endpoint,
        progress=False,
    )
    paths = ingester.fetch_data()
    assert paths == [pathlib.Path("data/indian_food/indian_food.csv")]
    assert paths[0].read_bytes() == body


REFERENCE_SUITE = {
    "test-prefix/test-file1.csv": b"a,b\n1,2\n",
    "test-prefix/nested/test-file2.csv": b"c,d\n3,4\n",
}


@pytest.mark.asyncio
async def test_the_reference_suite_layout_with_its_manifest_in_the_folder(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Prefix ``test-prefix`` and its manifest at ``test-prefix/manifest``: the manifest
    narrows the files, is never downloaded, and the files land below the dataset's top."""
    put(s3, bucket, {**REFERENCE_SUITE, "test-prefix/not-listed.csv": b"x"})
    put(s3, bucket, {"test-prefix/manifest": manifest_of(bucket, REFERENCE_SUITE)})
    paths = await make_ingester("test-prefix", manifest_file_name="manifest").fetch_data()
    root = dest / "ds"
    assert paths == [root / "nested/test-file2.csv", root / "test-file1.csv"]
    assert data_files(root) == ["nested/test-file2.csv", "test-file1.csv"]
    assert (root / "nested/test-file2.csv").read_bytes() == b"c,d\n3,4\n"


@pytest.mark.asyncio
async def test_the_unload_place_wins_over_the_folder_place(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """With both ``test-prefixmanifest`` and ``test-prefix/manifest``, the first is read and
    neither is data."""
    put(s3, bucket, REFERENCE_SUITE)
    first = {"test-prefix/test-file1.csv": REFERENCE_SUITE["test-prefix/test-file1.csv"]}
    put(s3, bucket, {"test-prefixmanifest": manifest_of(bucket, first)})
    put(s3, bucket, {"test-prefix/manifest": manifest_of(bucket, REFERENCE_SUITE)})
    await make_ingester("test-prefix").fetch_data()
    assert data_files(dest / "ds") == ["test-file1.csv"]


@pytest.mark.asyncio
async def test_both_kinds_of_key_under_one_prefix_follow_their_own_rule(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Prefix ``data``: ``data/x`` lands at ``x`` and ``data2/y`` at ``data2/y``."""
    put(s3, bucket, {"data/x": b"x", "data2/y": b"y"})
    await make_ingester("data").fetch_data()
    assert data_files(dest / "ds") == ["data2/y", "x"]
    assert (dest / "ds" / "data2" / "y").read_bytes() == b"y"


@pytest.mark.asyncio
async def test_two_keys_on_one_local_path_are_refused_before_anything_is_written(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Prefix ``data``: ``data/data2/y`` and ``data2/y`` would both be ``data2/y``: an
    UnsafeKeyError names both keys and nothing is written."""
    put(s3, bucket, {"data/data2/y": b"1", "data2/y": b"2", "data/z": b"3"})
    with pytest.raises(UnsafeKeyError) as info:
        await make_ingester("data").fetch_data()
    assert info.value.keys == ["data/data2/y", "data2/y"]
    assert "'data/data2/y'" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_a_cache_from_the_old_layout_keeps_its_folder_and_converges(
    s3: Any, bucket: str, moto_endpoint: str, dest: pathlib.Path
) -> None:
    """The default dataset_id is the reference's fingerprint; files an earlier version put
    one folder too deep are replaced by files at the right paths."""
    put(s3, bucket, REFERENCE_SUITE)

    def make() -> AsyncS3Ingester:
        return AsyncS3Ingester(
            bucket, "test-prefix", destination_directory=dest, endpoint_url=moto_endpoint
        )

    root = dest / default_dataset_id(bucket, "test-prefix", "eu-west-1")
    assert make().dataset_directory == root
    await make().fetch_data()
    _move_to_the_old_layout(root)
    report = await make().sync()
    assert report.deleted == ("test-prefix/nested/test-file2.csv", "test-prefix/test-file1.csv")
    assert data_files(root) == ["nested/test-file2.csv", "test-file1.csv"]


def _move_to_the_old_layout(root: pathlib.Path) -> None:
    """Rewrite a dataset as the previous release left it: below ``test-prefix/``."""
    document = read_manifest_at(root / STATE_DIR)
    moved = {}
    for relpath, record in document["files"].items():
        old = root / "test-prefix" / relpath
        old.parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).rename(old)
        os.utime(old, ns=(record["mtime_ns"], record["mtime_ns"]))
        moved[f"test-prefix/{relpath}"] = record
    replace_files(root / STATE_DIR, moved)
