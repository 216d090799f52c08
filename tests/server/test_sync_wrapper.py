"""S3Ingester from sync code and inside a running loop; AsyncS3Ingester with/without a context."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from aio_s3_ingest import CredentialsError, NoMatchingFilesError, S3Ingester
from tests._helpers import MakeIngester


@pytest.fixture
def make_sync(moto_endpoint: str, bucket: str, dest: pathlib.Path) -> Callable[..., S3Ingester]:
    """An S3Ingester on this test's bucket and destination; override any option."""

    def make(prefix: str = "data/", **options: Any) -> S3Ingester:
        options.setdefault("endpoint_url", moto_endpoint)
        options.setdefault("destination_directory", dest)
        options.setdefault("dataset_id", "ds")
        return S3Ingester(bucket, prefix, **options)

    return make


@pytest.fixture
def two_objects(s3: Any, bucket: str) -> list[str]:
    """``data/a.csv`` and ``data/sub/b.csv`` in this test's bucket."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=bucket, Key="data/sub/b.csv", Body=b"x\n")
    return ["a.csv", "sub/b.csv"]


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "aio_s3_ingest"]


def test_sync_fetch_from_plain_code(
    two_objects: list[str], dest: pathlib.Path, make_sync: Callable[..., S3Ingester]
) -> None:
    """From code with no event loop, fetch_data() runs to completion and returns sorted paths."""
    paths = make_sync().fetch_data()
    assert paths == [dest / "ds" / rel for rel in two_objects]
    assert paths[0].read_bytes() == b"a,b\n1,2\n"


def test_sync_fetch_twice_is_a_cache_hit(
    caplog: pytest.LogCaptureFixture, two_objects: list[str], make_sync: Callable[..., S3Ingester]
) -> None:
    """Calling the sync method again (a fresh event loop each time) reports a cache hit."""
    caplog.set_level(logging.INFO, logger="aio_s3_ingest")
    ingester = make_sync()
    first = ingester.fetch_data()
    caplog.clear()
    assert ingester.fetch_data() == first
    assert any(m.startswith("cache hit") for m in _messages(caplog))


def test_sync_force_recompute(
    caplog: pytest.LogCaptureFixture, two_objects: list[str], make_sync: Callable[..., S3Ingester]
) -> None:
    """force_recompute=True passes through the sync wrapper."""
    caplog.set_level(logging.INFO, logger="aio_s3_ingest")
    ingester = make_sync()
    ingester.fetch_data()
    caplog.clear()
    ingester.fetch_data(force_recompute=True)
    assert any(m.startswith("force_recompute") for m in _messages(caplog))


def test_sync_errors_keep_their_type(
    two_objects: list[str], dest: pathlib.Path, make_sync: Callable[..., S3Ingester]
) -> None:
    """Library errors cross the sync wrapper unchanged (here, no match is a FileNotFoundError)."""
    with pytest.raises(NoMatchingFilesError):
        make_sync(file_pattern="*.parquet").fetch_data()
    assert not dest.exists()


@pytest.mark.asyncio
async def test_sync_fetch_inside_a_running_loop(
    two_objects: list[str], dest: pathlib.Path, make_sync: Callable[..., S3Ingester]
) -> None:
    """Called synchronously inside a running loop (a Jupyter cell): no 'already running' error."""
    loop = asyncio.get_running_loop()
    paths = make_sync().fetch_data()  # blocks this loop on purpose, as a notebook cell would
    assert paths == [dest / "ds" / rel for rel in two_objects]
    assert asyncio.get_running_loop() is loop
    assert not loop.is_closed()


@pytest.mark.asyncio
async def test_sync_errors_keep_their_type_inside_a_running_loop(
    two_objects: list[str], make_sync: Callable[..., S3Ingester]
) -> None:
    """An error raised on the worker thread reaches the caller with its own type."""
    with pytest.raises(NoMatchingFilesError):
        make_sync(file_pattern="*.parquet").fetch_data()


def test_sync_fetch_from_a_worker_thread(
    two_objects: list[str], dest: pathlib.Path, make_sync: Callable[..., S3Ingester]
) -> None:
    """fetch_data() also works from a non-main thread with no loop of its own."""
    results: list[list[pathlib.Path]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(make_sync().fetch_data())
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    assert errors == []
    assert results == [[dest / "ds" / rel for rel in two_objects]]


@pytest.mark.asyncio
async def test_async_with_reuses_one_client(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    two_objects: list[str],
    make_ingester: MakeIngester,
) -> None:
    """Inside ``async with`` both calls share the client opened on entry; the second is a hit."""
    # The credentials are removed between the calls: a new client would fail with
    # CredentialsError, while the one opened on entry still holds its credentials.
    caplog.set_level(logging.INFO, logger="aio_s3_ingest")
    async with make_ingester() as ingester:
        first = await ingester.fetch_data()
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        caplog.clear()
        assert await ingester.fetch_data() == first
        assert any(m.startswith("cache hit") for m in _messages(caplog))
    # Outside the block the client is gone: the next call builds its own, and finds no credentials.
    with pytest.raises(CredentialsError):
        await ingester.fetch_data()


@pytest.mark.asyncio
async def test_without_context_manager_each_call_opens_a_client(
    monkeypatch: pytest.MonkeyPatch,
    two_objects: list[str],
    dest: pathlib.Path,
    make_ingester: MakeIngester,
) -> None:
    """A bare ``await ingester.fetch_data()`` works, and each call builds a fresh client."""
    ingester = make_ingester()
    paths = await ingester.fetch_data()
    assert paths == [dest / "ds" / rel for rel in two_objects]
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsError):
        await ingester.fetch_data()


@pytest.mark.asyncio
async def test_async_with_can_be_entered_again(
    two_objects: list[str], make_ingester: MakeIngester
) -> None:
    """One ingester can be used in two successive ``async with`` blocks."""
    ingester = make_ingester()
    async with ingester as entered:
        assert entered is ingester
        first = await ingester.fetch_data()
    async with ingester:
        assert await ingester.fetch_data() == first


@pytest.mark.asyncio
async def test_async_with_entry_fails_without_credentials(
    monkeypatch: pytest.MonkeyPatch, make_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """Entering the context already checks credentials, before any listing or disk work."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    ingester = make_ingester()
    with pytest.raises(CredentialsError):
        async with ingester:
            pytest.fail("the block must not run")
    assert not await anyio.Path(dest).exists()


def test_sync_and_async_share_the_dataset(
    caplog: pytest.LogCaptureFixture,
    two_objects: list[str],
    make_ingester: MakeIngester,
    make_sync: Callable[..., S3Ingester],
) -> None:
    """The sync face and the async face of the same options see one cache."""
    caplog.set_level(logging.INFO, logger="aio_s3_ingest")
    paths = asyncio.run(make_ingester().fetch_data())
    caplog.clear()
    assert make_sync().fetch_data() == paths
    assert any(m.startswith("cache hit") for m in _messages(caplog))
