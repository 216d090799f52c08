"""Incremental sync: what a second run fetches, keeps and deletes, and the local manifest."""

from __future__ import annotations

import json
import logging
import os
import pathlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from aio_s3_ingest import AsyncS3Ingester
from tests._helpers import MakeIngester
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)

FILES = {
    "data/a.csv": b"a,b\n1,2\n",
    "data/sub/b.csv": b"x\n" * 500,
    "data/sub/deep/c.bin": bytes(range(256)) * 40,
}
ALL_KEYS = sorted(FILES)


@pytest.fixture
def dataset(s3: Any, bucket: str, dest: pathlib.Path) -> pathlib.Path:
    """The three objects of FILES in S3; returns the dataset directory they sync to."""
    for key, body in FILES.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return dest / "ds"


@pytest_asyncio.fixture
async def ingester(
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
    document: dict[str, Any] = json.loads(
        (dataset / ".aio-s3-ingest" / "manifest.json").read_text(encoding="utf-8")
    )
    return document


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


@pytest.mark.asyncio
async def test_force_recompute_fetches_everything(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """fetch_data(force_recompute=True) fetches every file again, though all are current."""
    await first_then_count(ingester, proxy)
    await ingester.fetch_data(force_recompute=True)
    assert fetched(proxy) == ALL_KEYS
    assert_matches_s3(dataset, FILES)


@pytest.mark.asyncio
async def test_local_manifest_records_each_file(
    s3: Any, bucket: str, dataset: pathlib.Path, ingester: AsyncS3Ingester
) -> None:
    """manifest.json is versioned JSON recording key, size, ETag, LastModified and mtime_ns."""
    await ingester.fetch_data()
    document = read_manifest(dataset)
    assert document["version"] == 1
    assert sorted(document["files"]) == ["a.csv", "sub/b.csv", "sub/deep/c.bin"]
    for relpath, record in document["files"].items():
        head = s3.head_object(Bucket=bucket, Key=f"data/{relpath}")
        st = (dataset / relpath).stat()
        assert record == {
            "key": f"data/{relpath}",
            "size": len(FILES[f"data/{relpath}"]),
            "etag": head["ETag"],
            "last_modified": head["LastModified"].isoformat(),
            "mtime_ns": st.st_mtime_ns,
        }
        assert st.st_mtime == head["LastModified"].timestamp()


def _truncated(text: str) -> str:
    return text[: len(text) // 2]


def _next_version(text: str) -> str:
    return json.dumps({**json.loads(text), "version": 2})


def _not_json(text: str) -> str:
    return "\0\0\0 garbage"


@pytest.mark.asyncio
@pytest.mark.parametrize("damage", [_truncated, _next_version, _not_json])
async def test_a_damaged_local_manifest_counts_as_no_cache(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    ingester: AsyncS3Ingester,
    proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[str], str],
) -> None:
    """An unreadable manifest logs a WARNING, refetches all, and deletes no untracked file."""
    await first_then_count(ingester, proxy)
    (dataset / "mine.txt").write_bytes(b"the user's")
    s3.delete_object(Bucket=bucket, Key="data/a.csv")  # tracked, now unknown: left alone
    manifest = dataset / ".aio-s3-ingest" / "manifest.json"
    manifest.write_text(damage(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="aio_s3_ingest"):
        await ingester.fetch_data()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "manifest" in warnings[0].getMessage()
    assert fetched(proxy) == ["data/sub/b.csv", "data/sub/deep/c.bin"]
    assert (dataset / "mine.txt").read_bytes() == b"the user's"
    assert (dataset / "a.csv").exists()
    assert read_manifest(dataset)["version"] == 1


@pytest.mark.asyncio
async def test_a_manifest_path_outside_the_dataset_is_never_deleted(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """A manifest entry whose path leaves the dataset directory never deletes that file."""
    await first_then_count(ingester, proxy)
    victim = dataset.parent / "victim.txt"
    victim.write_bytes(b"outside the dataset")
    manifest = dataset / ".aio-s3-ingest" / "manifest.json"
    document = read_manifest(dataset)
    document["files"]["../victim.txt"] = document["files"]["a.csv"]
    manifest.write_text(json.dumps(document), encoding="utf-8")
    await ingester.fetch_data()
    assert victim.read_bytes() == b"outside the dataset"


@pytest.mark.asyncio
async def test_deletion_never_follows_a_symlinked_folder_out_of_the_dataset(
    s3: Any,
    bucket: str,
    tmp_path: pathlib.Path,
    dataset: pathlib.Path,
    ingester: AsyncS3Ingester,
    proxy: FaultProxy,
) -> None:
    """A tracked file that left the selection is not deleted through a folder symlinked out."""
    await first_then_count(ingester, proxy)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "c.bin").write_bytes(b"not the dataset's")
    deep = dataset / "sub" / "deep"
    (deep / "c.bin").unlink()
    deep.rmdir()
    deep.symlink_to(outside, target_is_directory=True)
    s3.delete_object(Bucket=bucket, Key="data/sub/deep/c.bin")
    await ingester.fetch_data()
    assert (outside / "c.bin").read_bytes() == b"not the dataset's"
