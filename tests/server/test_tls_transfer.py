"""Transfers over HTTPS, where the direct path serves TLS connections on receive threads:
faults on the wire, objects changing, stalls, cancellation and keep-alive, all through a
TLS front (the test's own CA) before the fault proxy."""

from __future__ import annotations

import asyncio
import itertools
import os
import pathlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from aio_s3_ingest import IngestFailed, ObjectChangedError
from tests._helpers import MakeIngester, assert_landed
from tests._proxy import FaultProxy, Request, proxy_fixture  # noqa: F401
from tests._tls_front import TlsFront

KiB, MiB = 1024, 1024 * 1024

pytestmark = pytest.mark.asyncio


@pytest.fixture
def ca(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A CA the ingester trusts through ``AWS_CA_BUNDLE``, as a user's would be."""
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    return authority


@pytest.fixture
def front(proxy: FaultProxy, ca: trustme.CA) -> Iterator[TlsFront]:
    """HTTPS in front of the fault proxy: a fault cuts the TLS stream mid-record."""
    with TlsFront(proxy.url, ca).running() as running:
        yield running


def _put(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def _first_time(keys: set[str], longer_than: int = 0) -> Any:
    """A rule predicate true for the first data GET of each of ``keys`` (asking for more
    than ``longer_than`` bytes)."""
    pending = set(keys)

    def once(request: Request) -> bool:
        start, _, end = (request.range or "bytes=0-").removeprefix("bytes=").partition("-")
        if end and int(end) - int(start) + 1 <= longer_than:
            return False
        if request.key in pending:
            pending.discard(request.key)
            return True
        return False

    return once


class _Faults:
    """Every third data GET is answered SlowDown; the first other GET of each large
    object for more than 600 KiB is reset after 600 KiB: one fault per exchange."""

    def __init__(self, large: set[str]) -> None:
        self._count = itertools.count()
        self._slowed = False
        self._reset = _first_time(large, longer_than=600 * KiB)

    def slowdown(self, request: Request) -> bool:
        self._slowed = request.range is not None and next(self._count) % 3 == 0
        return self._slowed

    def reset(self, request: Request) -> bool:
        return not self._slowed and bool(self._reset(request))


@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_slowdown_and_resets_over_tls_leave_every_file_byte_exact(
    direct_get: bool,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    front: TlsFront,
    make_ingester: MakeIngester,
) -> None:
    """Every third data GET answered SlowDown, and the first GET of each large object
    reset 600 KiB into its body: files byte exact, every fault retried once."""
    objects = {f"data/small/{i:02d}.bin": os.urandom(1 + i * 3 * KiB) for i in range(30)}
    large = {f"data/large/{i}.bin": os.urandom(3 * MiB + i) for i in range(4)}
    objects.update(large)
    _put(s3, bucket, objects)
    faults = _Faults(set(large))
    # Every rule is asked for each request, in this order; the first that matches acts.
    slowdown = proxy.respond(503, "SlowDown", when=faults.slowdown)
    reset = proxy.reset_after(600 * KiB, when=faults.reset)

    ingester = make_ingester(
        endpoint_url=front.url,
        direct_get=direct_get,
        workers_per_file=4,
        part_size=1 * MiB,
        max_attempts=8,
        max_concurrent_files=8,
    )
    report = await ingester.sync()

    assert slowdown.hits > 5
    assert reset.hits == len(large)
    assert (report.throttled, report.retries) == (slowdown.hits, slowdown.hits + reset.hits)
    assert_landed(dest / "ds", objects)


async def test_an_object_replaced_mid_download_over_tls_is_fetched_again_whole(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    front: TlsFront,
    make_ingester: MakeIngester,
) -> None:
    """The object is overwritten before its second range is sent: that GET fails its
    If-Match, and the file holds the new bytes only."""
    key, old, new = "data/big.bin", os.urandom(6 * MiB), os.urandom(6 * MiB + 5)
    _put(s3, bucket, {key: old})
    replaced: list[str] = []

    def replace_once(request: Request) -> None:
        if not replaced and request.range and not request.range.startswith("bytes=0-"):
            replaced.append(request.range)
            s3.put_object(Bucket=bucket, Key=key, Body=new)

    proxy.before_forward(replace_once, key="data/big.bin")
    ingester = make_ingester(
        endpoint_url=front.url, workers_per_file=2, part_size=1 * MiB, max_attempts=3
    )
    report = await ingester.sync()

    assert replaced
    assert 412 in [x.status for x in proxy.data_gets(key)]
    assert report.fetched == ("big.bin",)
    assert_landed(dest / "ds", {key: new})


async def test_a_stalled_tls_body_times_out_and_resumes_where_it_stopped(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    front: TlsFront,
    make_ingester: MakeIngester,
) -> None:
    """A body that stops after 256 KiB for longer than ``read_timeout``: the read times
    out on its receive thread, and the resumed GET asks only for the rest."""
    key, body = "data/slow.bin", os.urandom(2 * MiB)
    _put(s3, bucket, {key: body})
    stall = proxy.stall_after(256 * KiB, 5.0, when=_first_time({key}))
    ingester = make_ingester(endpoint_url=front.url, read_timeout=0.5, max_attempts=3)
    report = await ingester.sync()

    assert stall.hits == 1
    assert report.retries == 1
    ranges = [x.range for x in proxy.data_gets(key)]
    assert len(ranges) == 2
    assert ranges[1] is not None
    resumed_from = int(ranges[1].removeprefix("bytes=").partition("-")[0])
    assert 256 * KiB - 64 * KiB <= resumed_from <= 256 * KiB
    assert_landed(dest / "ds", {key: body})


async def test_cancelling_a_tls_download_ends_its_reads_and_keeps_only_resumable_partials(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    front: TlsFront,
    make_ingester: MakeIngester,
) -> None:
    """Cancelled while every range waits on a stalled body: the receive threads' reads
    end at once, the run ends promptly, and nothing is left but each object's partial file
    and its journal, which the next run takes up and removes."""
    objects = {f"data/{i}.bin": os.urandom(6 * MiB) for i in range(2)}
    _put(s3, bucket, objects)
    proxy.stall_after(256 * KiB, 60.0)
    ingester = make_ingester(
        endpoint_url=front.url, workers_per_file=2, part_size=1 * MiB, read_timeout=120
    )
    task = asyncio.create_task(ingester.sync())
    deadline = time.monotonic() + 20
    while any(proxy.bytes_served(key) < 256 * KiB for key in objects):
        assert not task.done(), "the run ended before the stall"
        assert time.monotonic() < deadline, "the stall was not reached"
        await asyncio.sleep(0.05)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 5
    dataset = dest / "ds"
    assert not any(p.is_file() for p in dataset.glob("*.bin"))
    left = sorted(p.suffix for p in (dataset / ".aio-s3-ingest" / "tmp").iterdir())
    assert left == [".partial", ".partial", ".ranges", ".ranges"]
    proxy.clear_rules()
    await ingester.sync()
    assert_landed(dataset, objects)


async def test_tls_connections_are_kept_alive_from_one_get_to_the_next(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    front: TlsFront,
    make_ingester: MakeIngester,
) -> None:
    """60 objects, 4 at a time, through the proxy (which keeps its client connections
    alive; moto does not): a handful of handshakes, not one per GET."""
    objects = {f"data/{i:02d}.csv": os.urandom(100 + i) for i in range(60)}
    _put(s3, bucket, objects)
    await make_ingester(endpoint_url=front.url, max_concurrent_files=4).sync()
    assert front.handshakes <= 8
    assert_landed(dest / "ds", objects)


async def test_a_changed_object_error_names_the_key_over_tls(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    front: TlsFront,
    make_ingester: MakeIngester,
) -> None:
    """An object replaced before every GET never settles: the run fails on that key with
    :class:`ObjectChangedError`, and nothing is left at its final path."""
    key = "data/moving.bin"
    _put(s3, bucket, {key: os.urandom(2 * MiB)})
    proxy.before_forward(
        lambda r: s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(2 * MiB)), key=key
    )
    ingester = make_ingester(endpoint_url=front.url, part_size=1 * MiB, max_attempts=2)
    with pytest.raises(IngestFailed) as info:
        await ingester.sync()
    assert isinstance(info.value.failures.get(key), ObjectChangedError), info.value
    assert not (dest / "ds" / "moving.bin").exists()
