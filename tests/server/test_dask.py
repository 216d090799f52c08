"""One dataset fetched by a Dask cluster of worker processes, a shard each
(``aio_s3_ingest.dask``), against the moto server, through the fault proxy where a run
must be caught mid-transfer."""

from __future__ import annotations

import os
import pathlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from aio_s3_ingest import IngestFailed, IngestReport, S3Ingester
from aio_s3_ingest.dask import fetch_on_cluster
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._transfer import KiB, MiB, put_random

distributed = pytest.importorskip("distributed")

WORKERS = 2


@pytest.fixture(name="client")
def client_fixture(tmp_path: pathlib.Path) -> Iterator[Any]:
    """Two worker processes, one thread each, started by nannies that restart them."""
    cluster = distributed.LocalCluster(
        n_workers=WORKERS,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: no clash with another run
        local_directory=str(tmp_path / "dask"),
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def put_dataset(s3: Any, bucket: str) -> dict[str, bytes]:
    bodies = {
        f"p{i:02d}/part.bin": put_random(s3, bucket, f"data/p{i:02d}/part.bin", 8 * KiB)[0]
        for i in range(16)
    }
    for i in range(4):
        bodies[f"big{i}.bin"] = put_random(s3, bucket, f"data/big{i}.bin", 2 * MiB)[0]
    return bodies


def files_in(dataset: pathlib.Path) -> dict[str, bytes]:
    return {
        path.relative_to(dataset).as_posix(): path.read_bytes()
        for path in dataset.rglob("*")
        if path.is_file() and ".aio-s3-ingest" not in path.parts
    }


def test_the_shards_union_is_the_single_process_fetch_and_a_rerun_is_a_cache_hit(
    client: Any, s3: Any, bucket: str, moto_endpoint: str, dest: pathlib.Path
) -> None:
    bodies = put_dataset(s3, bucket)
    options: dict[str, Any] = {"endpoint_url": moto_endpoint, "destination_directory": dest}
    report = fetch_on_cluster(client, bucket, "data/", dataset_id="ds", **options)
    assert isinstance(report, IngestReport)
    assert sorted(report.fetched) == sorted(bodies)
    assert report.verified == {"CRC32": len(bodies)}  # what moto gives an upload without one
    single = S3Ingester(bucket, "data/", dataset_id="one", progress=False, **options)
    single.fetch_data()
    assert files_in(dest / "ds") == files_in(dest / "one") == bodies
    state = sorted(p.name for p in (dest / "ds" / ".aio-s3-ingest").iterdir())
    assert state == [f"shard-{i}-of-{WORKERS}" for i in range(WORKERS)]

    again = fetch_on_cluster(client, bucket, "data/", dataset_id="ds", **options)
    assert again.fetched == ()
    assert sorted(again.kept) == sorted(bodies)
    assert report.paths == again.paths


def test_a_worker_killed_mid_run_then_a_rerun_converges(
    client: Any, s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy
) -> None:
    """Each big body stalls once; one worker process is killed while they do (SIGKILL,
    mid-shard). That run may end either way (the shard run again elsewhere, or reported
    failed); a rerun completes the dataset byte for byte, a third fetches nothing."""
    bodies = put_dataset(s3, bucket)
    options: dict[str, Any] = {
        "endpoint_url": proxy.url,
        "destination_directory": dest,
        "dataset_id": "ds",
        "read_timeout": 1.0,
    }
    proxy.stall_after(256 * KiB, 3.0, key="big", times=4)  # each big body once
    outcome: list[object] = []

    def first_run() -> None:
        try:
            outcome.append(fetch_on_cluster(client, bucket, "data/", **options))
        except IngestFailed as exc:
            outcome.append(exc)

    runner = threading.Thread(target=first_run)
    runner.start()
    deadline = time.monotonic() + 60
    while not any(proxy.bytes_served(f"data/big{i}.bin") for i in range(4)):
        assert time.monotonic() < deadline, "the big bodies never started"
        time.sleep(0.02)
    victim = sorted(client.run(os.getpid).values())[0]
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=120)
    assert not runner.is_alive()
    assert outcome  # a report, or IngestFailed naming what did not land
    proxy.clear_rules()

    client.wait_for_workers(WORKERS, timeout=60)
    assert victim not in client.run(os.getpid).values()  # its nanny started a new one
    report = fetch_on_cluster(client, bucket, "data/", **options)
    assert report.ok
    assert files_in(dest / "ds") == bodies
    third = fetch_on_cluster(client, bucket, "data/", **options)
    assert third.fetched == ()
    assert sorted(third.kept) == sorted(bodies)
