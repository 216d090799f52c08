"""processes=N: the files are shared among worker processes, and the run behaves as one."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pathlib
import signal
import subprocess
import sys
from typing import Any

import pytest

from aio_s3_ingest import ConfigError, FileFinished, IngestFailed, ProgressEvent
from aio_s3_ingest._local.manifest import LocalManifest
from tests._helpers import STATE_DIR, MakeIngester, assert_landed, data_files
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401

KiB, MiB = 1024, 1024 * 1024


def _upload(s3: Any, bucket: str, count: int, large: int = 0) -> dict[str, bytes]:
    objects = {f"data/small/{i:03d}.bin": os.urandom(1000 + i) for i in range(count)}
    objects |= {f"data/large/{i}.bin": os.urandom(2 * MiB + i) for i in range(large)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return objects


class _Watcher:
    """A progress callback that notes the keys that finished."""

    def __init__(self) -> None:
        self.finished: list[str] = []

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, FileFinished):
            self.finished.append(event.key)


def test_processes_must_be_a_positive_integer_or_auto(make_ingester: MakeIngester) -> None:
    for wrong in (0, -1, 1.5, "2", "Auto", True):
        with pytest.raises(ConfigError, match="processes"):
            make_ingester(processes=wrong)
    assert make_ingester(processes="auto").config.processes == "auto"


@pytest.mark.asyncio
async def test_workers_fetch_their_share_and_the_run_reports_as_one(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """processes=3 with 2 files in flight each: more than one process's worth of GETs are
    in flight at once; every file is byte-exact and recorded; each file's events reach the
    callback once; the request count is what crossed the wire; a rerun is a cache hit
    without a GET."""
    objects = _upload(s3, bucket, 60, large=3)
    proxy.delay(0.05, key="data/")  # so that the shares overlap in time
    watcher = _Watcher()
    ingester = make_ingester(
        endpoint_url=proxy.url,
        processes=3,
        max_concurrent_files=6,
        workers_per_file=2,
        part_size=1 * MiB,
        progress=watcher,
    )
    report = await ingester.sync()
    dataset = dest / "ds"
    assert_landed(dataset, objects)
    assert proxy.peak_data_in_flight > 2  # more than this process's own 2
    assert sorted(watcher.finished) == sorted(objects)
    assert report.fetched == tuple(sorted(key.removeprefix("data/") for key in objects))
    assert report.requests == len(proxy.exchanges)
    records = LocalManifest(dataset / STATE_DIR).load()
    assert sorted(records) == list(report.fetched)
    assert multiprocessing.active_children() == []

    proxy.clear_rules()
    proxy.reset_stats()
    again = await ingester.sync()
    assert (again.fetched, proxy.data_gets()) == ((), [])


@pytest.mark.asyncio
async def test_auto_keeps_a_small_run_in_this_process(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """processes="auto" with a few dozen small files: no worker would pay for its start,
    so every file is fetched here, as with processes=1 (the policy's figures:
    tests/unit/test_processes.py)."""
    objects = _upload(s3, bucket, 40)
    caplog.set_level(logging.DEBUG, logger="aio_s3_ingest")
    report = await make_ingester(endpoint_url=proxy.url, processes="auto").sync()
    assert_landed(dest / "ds", objects)
    assert len(report.fetched) == len(objects)
    assert not [r for r in caplog.records if "worker process" in r.getMessage()]
    assert multiprocessing.active_children() == []


@pytest.mark.asyncio
async def test_max_concurrent_files_is_shared_among_the_processes(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """Two processes, max_concurrent_files=4: never more than 4 GETs in flight in all."""
    objects = _upload(s3, bucket, 24)
    proxy.delay(0.05, key="data/")
    await make_ingester(endpoint_url=proxy.url, processes=2, max_concurrent_files=4).fetch_data()
    assert 2 < proxy.peak_data_in_flight <= 4
    assert_landed(dest / "ds", objects)


@pytest.mark.asyncio
async def test_a_failure_in_a_worker_names_the_key_and_its_cause(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """A key denied to whichever process fetches it: IngestFailed names it with S3's
    reason, every other file lands and is recorded."""
    objects = _upload(s3, bucket, 20)
    denied = "data/small/007.bin"
    proxy.respond(403, "AccessDenied", key=denied)
    with pytest.raises(IngestFailed) as caught:
        await make_ingester(endpoint_url=proxy.url, processes=2).fetch_data()
    assert list(caught.value.failures) == [denied]
    assert "denied" in str(caught.value).lower()
    report = caught.value.report
    assert report is not None
    assert len(report.fetched) == len(objects) - 1
    del objects[denied]
    assert_landed(dest / "ds", objects)


@pytest.mark.asyncio
async def test_cancelling_stops_the_workers_and_leaves_only_complete_files(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """task.cancel() once the small files landed and the large bodies stall mid-way: the
    workers exit, no temp or partial file remains, and a rerun fetches only the large."""
    objects = _upload(s3, bucket, 10, large=4)
    proxy.stall_after(256 * KiB, 30.0, key="data/large/")
    ingester = make_ingester(endpoint_url=proxy.url, processes=2)
    task = asyncio.create_task(ingester.fetch_data())
    small = [dest / "ds" / k.removeprefix("data/") for k in objects if "small" in k]
    for _ in range(500):
        stalled = sum(proxy.bytes_served(k) >= 256 * KiB for k in objects if "large" in k)
        if stalled == 4 and all(path.exists() for path in small):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the small files never landed or the large bodies never stalled")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    dataset = dest / "ds"
    assert multiprocessing.active_children() == []
    assert list((dataset / STATE_DIR / "tmp").iterdir()) == []
    assert not any(path.startswith("large/") for path in data_files(dataset))

    proxy.clear_rules()
    proxy.reset_stats()
    await ingester.fetch_data()
    assert sorted({x.key for x in proxy.data_gets()}) == sorted(k for k in objects if "large" in k)
    assert_landed(dataset, objects)


@pytest.mark.asyncio
async def test_a_killed_worker_is_reported_and_what_it_finished_is_kept(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """SIGKILL to a worker mid-run (as the OOM killer would): its unfinished keys fail
    with a clear cause, the files it had finished stay recorded, a rerun completes the
    dataset fetching only the missing files."""
    objects = _upload(s3, bucket, 40)
    proxy.delay(0.02, key="data/")

    async def kill_a_busy_worker() -> None:
        # Both processes have a GET in flight: the worker holds an unfinished file.
        while not (multiprocessing.active_children() and proxy.data_in_flight >= 2):  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        pid = multiprocessing.active_children()[0].pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

    ingester = make_ingester(endpoint_url=proxy.url, processes=2, max_concurrent_files=2)
    killer = asyncio.create_task(kill_a_busy_worker())
    with pytest.raises(IngestFailed) as caught:
        await ingester.fetch_data()
    assert killer.done()
    causes = {str(exc) for exc in caught.value.failures.values()}
    assert all("worker process ended" in cause for cause in causes), causes
    dataset = dest / "ds"
    records = LocalManifest(dataset / STATE_DIR).load()
    assert len(records) == len(objects) - len(caught.value.failures)
    assert list((dataset / STATE_DIR / "tmp").iterdir()) == []

    proxy.clear_rules()
    proxy.reset_stats()
    await make_ingester(endpoint_url=proxy.url).fetch_data()
    assert sorted(x.key for x in proxy.data_gets()) == sorted(caught.value.failures)
    assert_landed(dataset, objects)


def test_a_script_without_the_main_guard_still_gets_its_files(
    s3: Any, bucket: str, dest: pathlib.Path, moto_endpoint: str, tmp_path: pathlib.Path
) -> None:
    """Workers import the main module; unguarded top-level code there cannot start a run
    (multiprocessing says why), the worker ends, and this process fetches everything."""
    objects = _upload(s3, bucket, 12)
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        "from aio_s3_ingest import S3Ingester\n"
        "bucket, dest, endpoint = sys.argv[1:]\n"
        "S3Ingester(bucket, 'data/', dataset_id='ds', destination_directory=dest,\n"
        "           endpoint_url=endpoint, processes=2).fetch_data()\n"
    )
    result = subprocess.run(
        [sys.executable, str(script), bucket, str(dest), moto_endpoint],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "if __name__ == '__main__'" in result.stderr
    assert_landed(dest / "ds", objects)
