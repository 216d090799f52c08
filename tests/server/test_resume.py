"""Large downloads resumed across runs: a killed or failed run leaves each large object's
partial file and journal; the next run asks S3 only for what is missing, and every file
still ends byte-exact and verified.

The proxy stalls every body after a set number of bytes, so a child process can be
killed at a known point: what each run asked for, and what reached it, is read off the
wire (the proxy's record of each GET's range and of the body bytes it sent).
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import anyio
import pytest

from aio_s3_ingest import IngestFailed
from tests._helpers import MakeIngester, assert_landed
from tests._proxy import (
    Exchange,
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._transfer import (
    Ingester,
    MiB,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    range_start,
    temp_files,
    via_proxy_fixture,  # noqa: F401 - the "via_proxy" fixture
)

SIZE = 64 * MiB
CHUNK = 1 * MiB
SETTINGS = {"workers_per_file": 4, "chunk_size": CHUNK, "max_concurrent_files": 2}

_CHILD = textwrap.dedent(
    """
    import sys
    from aio_s3_ingest import S3Ingester

    bucket, dest, endpoint = sys.argv[1:]
    S3Ingester(bucket, "data/", dataset_id="ds", destination_directory=dest,
               endpoint_url=endpoint, progress=False, verify="require",
               workers_per_file=4, chunk_size=1024 * 1024, max_concurrent_files=2).fetch_data()
    """
)


def _put(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="CRC32")


def _span(exchange: Exchange) -> tuple[int, int]:
    """The bytes a GET asked for, [start, end)."""
    if exchange.range is None:
        return 0, SIZE
    start = range_start(exchange.range)
    return start, int(exchange.range.rpartition("-")[2]) + 1


def _requested(gets: list[Exchange]) -> int:
    return sum(end - start for start, end in map(_span, gets))


def _merge(spans: list[tuple[str, int, int]]) -> int:
    """How many distinct bytes the (key, start, end) spans cover."""
    total, reach = 0, ("", -1)
    for key, start, end in sorted(spans):
        if key == reach[0] and start < reach[1]:
            start = reach[1]
        if end > start:
            total += end - start
        if key != reach[0] or end > reach[1]:
            reach = (key, end)
    return total


def _overwrite(path: pathlib.Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(data)


def _kill_when_stalled(child: subprocess.Popen[bytes], proxy: FaultProxy) -> list[Exchange]:
    """SIGKILL the child once every body it is receiving has stalled (no byte served for
    half a second after its first data GET); its GETs, as the proxy saw them."""
    deadline = time.monotonic() + 60
    served, still_since = -1, time.monotonic()
    while time.monotonic() < deadline and child.poll() is None:
        gets = proxy.data_gets()
        now = sum(x.body_bytes for x in gets)
        if now != served:
            served, still_since = now, time.monotonic()
        elif gets and time.monotonic() - still_since > 0.5:
            break
        time.sleep(0.05)
    assert child.poll() is None, "the child ended before the kill"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    return proxy.data_gets()


def test_ten_kills_then_each_rerun_asks_only_for_what_is_missing(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """Ten child runs of a 2 x 64 MiB download, each killed while its bodies stall at a
    different point. Each run after a kill asks for at most the bytes no earlier run
    received, plus one chunk per range in flight at the kill (received, not yet written
    and journaled). The last run finishes every file byte-exact and verified, and
    reports the bytes it took over from the partial files."""
    objects = {f"data/{i}.bin": os.urandom(SIZE) for i in range(2)}
    _put(s3, bucket, objects)
    received: list[tuple[str, int, int]] = []  # every byte any run was sent
    in_flight_at_kill = None
    for round_ in range(10):
        proxy.reset_stats()
        proxy.clear_rules()
        proxy.stall_after(int((1.0 + 0.05 * round_) * MiB), 120.0, key="data/")
        child = subprocess.Popen([sys.executable, "-c", _CHILD, bucket, str(dest), proxy.url])
        gets = _kill_when_stalled(child, proxy)
        if in_flight_at_kill is not None:
            allowed = 2 * SIZE - _merge(received) + CHUNK * in_flight_at_kill
            assert _requested(gets) <= allowed, f"round {round_}"
        received += [(x.key, _span(x)[0], _span(x)[0] + x.body_bytes) for x in gets]
        in_flight_at_kill = sum(x.body_bytes < _span(x)[1] - _span(x)[0] for x in gets)
        assert in_flight_at_kill > 0, f"round {round_}: nothing was in flight at the kill"

    proxy.reset_stats()
    proxy.clear_rules()
    ingester = make_ingester(endpoint_url=proxy.url, verify="require", **SETTINGS)
    report = anyio.run(ingester.sync)
    missing = 2 * SIZE - _merge(received)
    assert _requested(proxy.data_gets()) <= missing + CHUNK * in_flight_at_kill
    assert report.verified == {"CRC32": 2}
    assert 2 * SIZE - report.bytes_resumed <= missing + CHUNK * in_flight_at_kill
    assert_landed(dest / "ds", objects)


def test_an_object_rewritten_after_the_kill_is_fetched_whole_and_its_partial_removed(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """The listing now gives another ETag: the partial of the old version is removed, the
    new version comes whole; the object that did not change is resumed."""
    objects = {f"data/{i}.bin": os.urandom(SIZE) for i in range(2)}
    _put(s3, bucket, objects)
    proxy.stall_after(3 * MiB, 120.0, key="data/")
    child = subprocess.Popen([sys.executable, "-c", _CHILD, bucket, str(dest), proxy.url])
    _kill_when_stalled(child, proxy)
    assert len(temp_files(dest / "ds")) == 4  # a partial file and a journal per object
    objects["data/1.bin"] = os.urandom(SIZE)
    _put(s3, bucket, {"data/1.bin": objects["data/1.bin"]})

    proxy.reset_stats()
    proxy.clear_rules()
    report = anyio.run(make_ingester(endpoint_url=proxy.url, **SETTINGS).sync)
    assert _requested(proxy.data_gets("data/1.bin")) == SIZE
    assert _requested(proxy.data_gets("data/0.bin")) < SIZE
    assert 0 < report.bytes_resumed < SIZE
    assert report.verified == {"CRC32": 2}
    assert_landed(dest / "ds", objects)


@pytest.mark.asyncio
async def test_a_run_that_failed_leaves_partials_the_next_run_completes(
    s3: Any, bucket: str, dataset: pathlib.Path, proxy: FaultProxy, via_proxy: Ingester
) -> None:
    """Ranges that break past the retry budget fail the file, but the bytes written stay:
    the next run asks only for the rest of each range, on both GET paths."""
    size = 24 * MiB
    objects = {"data/big.bin": os.urandom(size)}
    _put(s3, bucket, objects)
    proxy.reset_after(3 * MiB, pause=0.2, key="data/")
    with pytest.raises(IngestFailed):
        await via_proxy(max_attempts=1, part_size=4 * MiB, **SETTINGS).sync()
    assert sorted(name.rpartition(".")[2] for name in temp_files(dataset)) == [
        "partial",
        "ranges",
    ]
    proxy.clear_rules()
    proxy.reset_stats()
    report = await via_proxy(part_size=4 * MiB, **SETTINGS).sync()
    assert report.bytes_resumed >= 4 * 2 * MiB  # each of 4 ranges journaled 2 chunks or more
    assert _requested(proxy.data_gets()) == size - report.bytes_resumed
    assert report.verified == {"CRC32": 1}
    assert_landed(dataset, objects)


@pytest.mark.asyncio
async def test_a_partial_corrupted_on_disk_fails_verification_and_the_file_is_fetched_whole(
    s3: Any, bucket: str, dataset: pathlib.Path, proxy: FaultProxy, via_proxy: Ingester
) -> None:
    """Bytes a journal vouches for but that changed on disk (a power loss the boot check
    missed, a stray write): the whole-file checksum catches them, the partial is thrown
    away, and the object is fetched again from its first byte."""
    size = 24 * MiB
    objects = {"data/big.bin": os.urandom(size)}
    _put(s3, bucket, objects)
    proxy.reset_after(3 * MiB, pause=0.2, key="data/")
    with pytest.raises(IngestFailed):
        await via_proxy(max_attempts=1, part_size=4 * MiB, **SETTINGS).sync()
    (partial,) = (dataset / ".aio-s3-ingest" / "tmp").glob("*.partial")
    _overwrite(partial, 1000, b"\x00" * 16)
    proxy.clear_rules()
    proxy.reset_stats()
    report = await via_proxy(part_size=4 * MiB, **SETTINGS).sync()
    assert _requested(proxy.data_gets()) > size  # the rest, then all of it once more
    assert report.verified == {"CRC32": 1}
    assert_landed(dataset, objects)


@pytest.mark.asyncio
async def test_objects_below_part_size_and_objects_that_left_keep_no_partial(
    s3: Any, bucket: str, dataset: pathlib.Path, proxy: FaultProxy, via_proxy: Ingester
) -> None:
    """A small object restarts, as before; a partial whose object is no longer selected
    is removed by the next run."""
    objects = {"data/big.bin": os.urandom(12 * MiB), "data/small.bin": os.urandom(3 * MiB)}
    _put(s3, bucket, objects)
    proxy.reset_after(2 * MiB, pause=0.2, key="data/")
    with pytest.raises(IngestFailed):
        await via_proxy(max_attempts=1, part_size=4 * MiB, **SETTINGS).sync()
    assert len(temp_files(dataset)) == 2  # the big object's partial and journal only
    proxy.clear_rules()
    report = await via_proxy(part_size=4 * MiB, file_pattern="small.bin", **SETTINGS).sync()
    assert report.fetched == ("small.bin",)
    assert temp_files(dataset) == []
