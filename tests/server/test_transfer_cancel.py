"""A run cancelled or crashed mid-transfer: no temp or partial file, nothing left open."""

from __future__ import annotations

import asyncio
import gc
import os
import pathlib
import warnings
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester
from aio_s3_ingest._local.manifest import LocalManifest
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._transfer import (
    Ingester,
    KiB,
    MiB,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    put_random,
    temp_files,
    via_proxy_fixture,  # noqa: F401 - the "via_proxy" fixture
)


async def cancel_mid_transfer(
    s3: Any, bucket: str, dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> dict[str, bytes]:
    """Start a run of fast.bin and two slow objects, cancel it once fast.bin is in place and
    the slow bodies are half-way; returns every object's bytes."""
    objects = {"data/fast.bin": put_random(s3, bucket, "data/fast.bin", 10 * KiB)[0]}
    for i in range(2):
        objects[f"data/slow{i}.bin"] = put_random(s3, bucket, f"data/slow{i}.bin", 2 * MiB)[0]
    proxy.stall_after(256 * KiB, 30.0, key="slow")
    task = asyncio.create_task(ingester.fetch_data())
    for _ in range(500):
        mid_body = all(proxy.bytes_served(f"data/slow{i}.bin") >= 256 * KiB for i in range(2))
        if mid_body and (dataset / "fast.bin").exists():
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the transfers never reached the middle of the slow bodies")
    await asyncio.sleep(0.1)  # let the client write what it received
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    proxy.clear_rules()
    proxy.reset_stats()
    return objects


@pytest.mark.asyncio
async def test_cancelling_mid_transfer_leaves_no_temp_or_partial_file(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """task.cancel() mid-body: no temp file, no partial file; the finished file stays whole."""
    objects = await cancel_mid_transfer(s3, bucket, dataset, via_proxy(), proxy)
    assert temp_files(dataset) == []
    assert not (dataset / "slow0.bin").exists()
    assert not (dataset / "slow1.bin").exists()
    assert (dataset / "fast.bin").read_bytes() == objects["data/fast.bin"]


@pytest.mark.asyncio
async def test_cancelling_releases_every_connection_and_file_handle(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """After task.cancel() no handle into the dataset stays open, and collecting garbage
    finds no unclosed socket, file or HTTP session (no ResourceWarning, no loop error)."""
    loop_errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: loop_errors.append(ctx))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await cancel_mid_transfer(s3, bucket, dataset, via_proxy(), proxy)
        await asyncio.sleep(0.05)  # let closing transports finish
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert loop_errors == []
    assert open_files_under(dataset) == []


def open_files_under(root: pathlib.Path) -> list[str]:
    """Paths under ``root`` this process still has a descriptor for (Linux)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:
            continue  # the descriptor listdir itself used
        if target.startswith(str(root)):
            found.append(target)
    return found


@pytest.mark.asyncio
async def test_after_a_cancelled_run_the_record_matches_the_disk_and_a_rerun_fetches_the_rest(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """After task.cancel(), the file finished before is recorded and only the rest is fetched."""
    ingester = via_proxy()
    objects = await cancel_mid_transfer(s3, bucket, dataset, ingester, proxy)
    records = LocalManifest(dataset / ".aio-s3-ingest").load()
    st = (dataset / "fast.bin").stat()
    assert [(path, r.size, r.mtime_ns) for path, r in records.items()] == [
        ("fast.bin", st.st_size, st.st_mtime_ns)
    ]
    await ingester.fetch_data()
    assert sorted(x.key for x in proxy.data_gets()) == ["data/slow0.bin", "data/slow1.bin"]
    for key, body in objects.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body


@pytest.mark.asyncio
async def test_temp_files_of_a_crashed_run_are_removed(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester
) -> None:
    """A leftover ``.aio-s3-ingest/tmp/*.part`` is removed by the next run, even a cache hit."""
    s3.put_object(Bucket=bucket, Key="data/a.bin", Body=b"a")
    ingester = via_proxy()
    await ingester.fetch_data()
    (dataset / ".aio-s3-ingest" / "tmp" / "x.part").write_bytes(b"half a file")
    await ingester.fetch_data()
    assert temp_files(dataset) == []
