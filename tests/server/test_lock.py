"""The dataset lock: runs on one dataset never interleave, wait or time out, survive a kill."""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester, IngestError, LockTimeoutError
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)

Ingester = Callable[..., AsyncS3Ingester]
FILES = {f"data/f{i}.bin": os.urandom(10_000 + i) for i in range(3)}


@pytest.fixture
def dataset(s3: Any, bucket: str, dest: pathlib.Path) -> pathlib.Path:
    """FILES in S3; returns the dataset directory."""
    for key, body in FILES.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return dest / "ds"


@pytest.fixture
def via_proxy(make_ingester: Ingester, proxy: FaultProxy) -> Ingester:
    """make_ingester, pointed at the proxy."""
    return lambda **options: make_ingester(endpoint_url=proxy.url, **options)


def assert_complete(dataset: pathlib.Path) -> None:
    for key, body in FILES.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body


async def wait_for_data_get(proxy: FaultProxy) -> None:
    """Until a data GET is in flight at the proxy, so its run holds the lock."""
    for _ in range(500):
        if proxy.data_in_flight:
            return
        await asyncio.sleep(0.01)
    pytest.fail("no data GET reached the proxy")


@pytest.mark.asyncio
async def test_two_concurrent_runs_are_serialised_and_both_succeed(
    dataset: pathlib.Path,
    via_proxy: Ingester,
    proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two overlapping runs both return the dataset; the second waits, then has nothing to do."""
    proxy.delay(0.3, key="data/f")
    first, second = via_proxy(), via_proxy()
    with caplog.at_level(logging.INFO, logger="aio_s3_ingest"):
        results = await asyncio.gather(first.fetch_data(), second.fetch_data())
    assert results[0] == results[1] == sorted(dataset / k.removeprefix("data/") for k in FILES)
    assert_complete(dataset)
    messages = [r.getMessage() for r in caplog.records]
    waiting = [i for i, m in enumerate(messages) if m.startswith("waiting for another run")]
    fetched = [i for i, m in enumerate(messages) if m.startswith("fetched 3 file(s)")]
    cache_hit = [i for i, m in enumerate(messages) if m.startswith("cache hit")]
    assert len(waiting) == len(fetched) == len(cache_hit) == 1, messages
    assert waiting[0] < fetched[0] < cache_hit[0], messages  # one ran, then the other
    assert sorted(x.key for x in proxy.data_gets()) == sorted(FILES)  # each fetched once


@pytest.mark.asyncio
async def test_lock_timeout_raises_while_another_run_holds_the_dataset(
    dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """lock_timeout=0.2 while another run is mid-transfer raises LockTimeoutError."""
    proxy.delay(1.0, key="data/f")
    async with via_proxy(lock_timeout=0.2) as impatient:  # its client ready beforehand
        holder = asyncio.create_task(via_proxy().fetch_data())
        await wait_for_data_get(proxy)
        with pytest.raises(LockTimeoutError) as excinfo:
            await impatient.fetch_data()
    assert isinstance(excinfo.value, IngestError)
    assert isinstance(excinfo.value, TimeoutError)
    assert not holder.done()
    await holder
    assert_complete(dataset)


_HOLD_LOCK = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="fcntl.flock and SIGKILL")
@pytest.mark.asyncio
async def test_a_lock_held_by_a_killed_process_does_not_block_the_next_run(
    dataset: pathlib.Path, via_proxy: Ingester
) -> None:
    """A process killed with SIGKILL while holding the lock leaves it free for the next run."""
    state = dataset / ".aio-s3-ingest"
    state.mkdir(parents=True)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLD_LOCK, str(state / "lock"), stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert await holder.stdout.readline() == b"locked\n"
        with pytest.raises(LockTimeoutError):  # the child's lock is the dataset's lock
            await via_proxy(lock_timeout=0.2).fetch_data()
        holder.send_signal(signal.SIGKILL)
        assert await holder.wait() == -signal.SIGKILL
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
    await via_proxy(lock_timeout=5).fetch_data()
    assert_complete(dataset)


_RUN = textwrap.dedent(
    """
    import asyncio, logging, sys
    from aio_s3_ingest import AsyncS3Ingester

    async def main() -> None:
        bucket, dest, endpoint = sys.argv[1:4]
        ingester = AsyncS3Ingester(
            bucket, "data/", dataset_id="ds", destination_directory=dest, endpoint_url=endpoint
        )
        async with ingester:  # the client is ready before the signal to go
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            await ingester.fetch_data()

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    asyncio.run(main())
    """
)


def go(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def test_two_processes_on_one_dataset_are_serialised(
    bucket: str, dest: pathlib.Path, dataset: pathlib.Path, proxy: FaultProxy
) -> None:
    """A second process starting while the first holds the lock waits; each object is fetched
    once and both succeed."""
    proxy.delay(0.5, key="data/f")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _RUN, bucket, str(dest), proxy.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        go(children[0])
        for _ in range(1000):  # until the first holds the lock, mid-transfer
            if proxy.data_in_flight:
                break
            time.sleep(0.01)
        go(children[1])
        outcomes = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    logs = [stderr for _, stderr in outcomes]
    assert [child.returncode for child in children] == [0, 0], logs
    assert "waiting for another run" not in logs[0]
    assert "waiting for another run" in logs[1]
    assert "cache hit" in logs[1]
    assert sorted(x.key for x in proxy.data_gets()) == sorted(FILES)
    assert_complete(dataset)
