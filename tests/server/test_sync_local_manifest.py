"""The local manifest: what it records, a damaged one, and the deletions it may never cause."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import pathlib
import sqlite3
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester
from tests._manifest import replace_files, set_meta
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._sync import (
    FILES,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    fetched,
    first_then_count,
    ingester_fixture,  # noqa: F401 - the "ingester" fixture
    read_manifest,
)


@pytest.mark.asyncio
async def test_local_manifest_records_each_file(
    s3: Any, bucket: str, dataset: pathlib.Path, ingester: AsyncS3Ingester
) -> None:
    """manifest.sqlite is a versioned database recording key, size, ETag, LastModified,
    mtime_ns and the checksum the file was verified against (boto3 uploads with a CRC32)."""
    await ingester.fetch_data()
    document = read_manifest(dataset)
    assert document["format"] == "aio-s3-ingest.manifest"
    assert document["version"] == 3
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
            "checksum": "CRC32:" + _crc32(FILES[f"data/{relpath}"]),
        }
        assert st.st_mtime == head["LastModified"].timestamp()


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _legacy(document: dict[str, Any], version: int) -> str:
    """A manifest as versions 1 and 2 wrote it: one JSON document (1: no checksums)."""
    files = {path: dict(record) for path, record in document["files"].items()}
    if version == 1:
        for record in files.values():
            del record["checksum"]
    return json.dumps({"format": document["format"], "version": version, "files": files})


@pytest.mark.asyncio
@pytest.mark.parametrize("version", [1, 2])
async def test_a_json_manifest_of_versions_1_and_2_is_kept_and_moved_into_the_database(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy, version: int
) -> None:
    """A manifest.json left by an earlier release keeps every file (the next run fetches
    nothing); that run moves its records into manifest.sqlite and removes the JSON."""
    await first_then_count(ingester, proxy)
    state = dataset / ".aio-s3-ingest"
    document = read_manifest(dataset)
    (state / "manifest.sqlite").unlink()
    (state / "manifest.json").write_text(_legacy(document, version), encoding="utf-8")
    await ingester.fetch_data()
    assert fetched(proxy) == []
    assert not (state / "manifest.json").exists()
    migrated = read_manifest(dataset)
    assert migrated["version"] == 3
    expected = _legacy(document, version)
    assert {
        p: {**r, "checksum": r.get("checksum")} for p, r in json.loads(expected)["files"].items()
    } == migrated["files"]


@pytest.mark.asyncio
async def test_a_run_that_keeps_everything_writes_nothing(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """A cache hit leaves the database file untouched: a run writes only what changed."""
    await first_then_count(ingester, proxy)
    path = dataset / ".aio-s3-ingest" / "manifest.sqlite"
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    await ingester.fetch_data()
    assert fetched(proxy) == []
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def _truncated(path: pathlib.Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _next_version(path: pathlib.Path) -> None:
    set_meta(path.parent, "version", 4)


def _not_sqlite(path: pathlib.Path) -> None:
    path.write_bytes(b"\0\0\0 garbage" * 100)


def _someone_elses(path: pathlib.Path) -> None:
    path.unlink()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE files (name TEXT)")


@pytest.mark.asyncio
@pytest.mark.parametrize("damage", [_truncated, _next_version, _not_sqlite, _someone_elses])
async def test_a_damaged_local_manifest_counts_as_no_cache(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    ingester: AsyncS3Ingester,
    proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[pathlib.Path], None],
) -> None:
    """An unreadable manifest logs a WARNING, refetches all, deletes no untracked file, and
    is replaced by a new one."""
    await first_then_count(ingester, proxy)
    (dataset / "mine.txt").write_bytes(b"the user's")
    s3.delete_object(Bucket=bucket, Key="data/a.csv")  # tracked, now unknown: left alone
    damage(dataset / ".aio-s3-ingest" / "manifest.sqlite")
    with caplog.at_level(logging.WARNING, logger="aio_s3_ingest"):
        await ingester.fetch_data()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "manifest" in warnings[0].getMessage()
    assert fetched(proxy) == ["data/sub/b.csv", "data/sub/deep/c.bin"]
    assert (dataset / "mine.txt").read_bytes() == b"the user's"
    assert (dataset / "a.csv").exists()
    document = read_manifest(dataset)
    assert document["version"] == 3
    assert sorted(document["files"]) == ["sub/b.csv", "sub/deep/c.bin"]
    assert sorted(p.name for p in (dataset / ".aio-s3-ingest").iterdir()) == [
        "lock",
        "manifest.sqlite",
        "tmp",
    ]


@pytest.mark.asyncio
async def test_a_manifest_path_outside_the_dataset_is_never_deleted(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """A manifest entry whose path leaves the dataset directory never deletes that file."""
    await first_then_count(ingester, proxy)
    victim = dataset.parent / "victim.txt"
    victim.write_bytes(b"outside the dataset")
    files = read_manifest(dataset)["files"]
    replace_files(dataset / ".aio-s3-ingest", {**files, "../victim.txt": files["a.csv"]})
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


@pytest.mark.asyncio
async def test_verify_local_refetches_a_file_edited_in_place_keeping_size_and_mtime(
    dataset: pathlib.Path,
    ingester: AsyncS3Ingester,
    proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An edit that keeps a file's size and mtime passes the usual check; with
    verify_local=True the file no longer gives its recorded checksum: a dry run lists it
    to fetch, and the run fetches that file alone, with a WARNING naming it."""
    await first_then_count(ingester, proxy)
    edited = dataset / "sub" / "b.csv"
    before = edited.stat()
    edited.write_bytes(b"y" + edited.read_bytes()[1:])
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    await ingester.fetch_data()
    assert fetched(proxy) == []
    dry = await ingester.plan(verify_local=True)
    assert dry.fetched == ("sub/b.csv",)
    with caplog.at_level(logging.WARNING, logger="aio_s3_ingest"):
        report = await ingester.sync(verify_local=True)
    assert report.fetched == ("sub/b.csv",)
    assert fetched(proxy) == ["data/sub/b.csv"]
    assert edited.read_bytes() == FILES["data/sub/b.csv"]
    assert any("b.csv" in r.getMessage() and "checksum" in r.getMessage() for r in caplog.records)
    proxy.reset_stats()
    await ingester.fetch_data(verify_local=True)
    assert fetched(proxy) == []  # every kept file matches again
