"""A run killed with SIGKILL at any moment: the next run converges, fetching only the rest."""

from __future__ import annotations

import os
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import anyio

from aio_s3_ingest._local.manifest import LocalManifest
from tests._helpers import STATE_DIR, MakeIngester, data_files
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401

KiB = 1024
OBJECTS = {
    **{f"data/small/{i:02d}.csv": os.urandom(20 * KiB + i) for i in range(40)},
    **{f"data/big/{i}.bin": os.urandom(1024 * KiB + i) for i in range(4)},
}

_CHILD = textwrap.dedent(
    """
    import sys
    from aio_s3_ingest import S3Ingester

    bucket, dest, endpoint = sys.argv[1:]
    S3Ingester(bucket, "data/", dataset_id="ds", destination_directory=dest,
               endpoint_url=endpoint, max_concurrent_files=4, workers_per_file=2,
               part_size=256 * 1024, chunk_size=64 * 1024).fetch_data()
    """
)


def _intact(dataset: pathlib.Path) -> set[str]:
    """Keys whose file the local manifest records and that stand complete on disk."""
    records = LocalManifest(dataset / STATE_DIR).load()
    return {
        rec.key
        for path, rec in records.items()
        if (dataset / path).is_file() and (dataset / path).stat().st_size == rec.size
    }


def test_twenty_kills_each_followed_by_a_converging_rerun(
    s3: Any, bucket: str, tmp_path: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """After SIGKILL at 20 different moments, each rerun leaves exactly the dataset, no temp
    files, and GETs only objects that were not complete and recorded before the kill."""
    for key, body in OBJECTS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    proxy.delay(0.1, key="data/")  # stretch the run (about 1.5 s) so kills land mid-transfer
    rng = random.Random(8)
    for round_ in range(20):
        dest = tmp_path / f"round-{round_}"
        child = subprocess.Popen([sys.executable, "-c", _CHILD, bucket, str(dest), proxy.url])
        time.sleep(rng.uniform(0.5, 2.0))  # from start-up to the end of the transfer
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        dataset = dest / "ds"
        done_before = _intact(dataset) if (dataset / STATE_DIR).exists() else set()

        proxy.reset_stats()
        ingester = make_ingester(endpoint_url=proxy.url, destination_directory=dest)
        anyio.run(ingester.fetch_data)

        fetched = {x.key for x in proxy.data_gets()}
        assert fetched == set(OBJECTS) - done_before, f"round {round_}"
        assert data_files(dataset) == sorted(k.removeprefix("data/") for k in OBJECTS)
        for key, body in OBJECTS.items():
            assert (dataset / key.removeprefix("data/")).read_bytes() == body
        assert list((dataset / STATE_DIR / "tmp").iterdir()) == []
