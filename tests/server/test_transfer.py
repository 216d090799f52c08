"""Transfers: atomic writes, ranged GETs pinned by If-Match, resume, retries, bounded memory."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import (
    AsyncS3Ingester,
    IngestError,
    IngestFailed,
    ObjectChangedError,
    S3AccessError,
    TransferError,
)
from aio_s3_ingest._local.manifest import LocalManifest
from tests._proxy import (
    FaultProxy,
    Request,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)

KiB = 1024
MiB = 1024 * KiB

Ingester = Callable[..., AsyncS3Ingester]


@pytest.fixture(params=[True, False], ids=["direct", "botocore"])
def via_proxy(
    make_ingester: Ingester, proxy: FaultProxy, request: pytest.FixtureRequest
) -> Ingester:
    """make_ingester, pointed at the proxy; every fault test runs on both GET paths."""
    return lambda **options: make_ingester(
        endpoint_url=proxy.url, direct_get=request.param, **options
    )


@pytest.fixture
def dataset(dest: pathlib.Path) -> pathlib.Path:
    """The dataset directory the ingesters write to."""
    return dest / "ds"


def put_random(s3: Any, bucket: str, key: str, size: int) -> tuple[bytes, str]:
    """Upload ``size`` random bytes at ``key``; return them and the object's ETag."""
    body = os.urandom(size)
    return body, s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def temp_files(dataset: pathlib.Path) -> list[str]:
    return sorted(os.listdir(dataset / ".aio-s3-ingest" / "tmp"))


def range_start(exchange_range: str | None) -> int:
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", exchange_range or "")
    assert match, f"not a byte range: {exchange_range!r}"
    return int(match.group(1))


def starts_past_zero(request: Request) -> bool:
    return request.range is not None and range_start(request.range) > 0


# -- B. atomic writes -----------------------------------------------------------------------


def _always_break_the_body(proxy: FaultProxy) -> str:
    proxy.reset_after(64 * KiB, key="bad.bin")
    return "the body broke 2 times"  # max_attempts=2 bodies, each broken


def _always_slow_down(proxy: FaultProxy) -> str:
    proxy.respond(503, "SlowDown", key="bad.bin")
    return "SlowDown"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fault", "max_attempts"), [(_always_break_the_body, 2), (_always_slow_down, 1)]
)
async def test_a_failing_file_leaves_nothing_partial_and_a_rerun_fetches_only_it(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    via_proxy: Ingester,
    proxy: FaultProxy,
    fault: Callable[[FaultProxy], str],
    max_attempts: int,
) -> None:
    """A key that fails every attempt: IngestFailed names it and why; nothing partial; the
    other files are done and recorded; a rerun fetches only it."""
    bad, _ = put_random(s3, bucket, "data/deep/bad.bin", 300 * KiB)
    goods = {
        f"data/good{i}.bin": put_random(s3, bucket, f"data/good{i}.bin", 100 * KiB)[0]
        for i in range(2)
    }
    why = fault(proxy)
    ingester = via_proxy(max_attempts=max_attempts)
    with pytest.raises(IngestFailed) as excinfo:
        await ingester.fetch_data()
    assert isinstance(excinfo.value, IngestError)
    assert list(excinfo.value.failures) == ["data/deep/bad.bin"]
    cause = excinfo.value.failures["data/deep/bad.bin"]
    assert isinstance(cause, TransferError)
    assert cause.key == "data/deep/bad.bin"
    assert cause.__cause__ is not None
    assert why in str(cause)
    assert "data/deep/bad.bin" in str(excinfo.value)
    assert temp_files(dataset) == []
    assert not (dataset / "deep" / "bad.bin").exists()
    for key, body in goods.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body
    records = LocalManifest(dataset / ".aio-s3-ingest").load()
    assert sorted(records) == ["good0.bin", "good1.bin"]

    proxy.clear_rules()
    proxy.reset_stats()
    await ingester.fetch_data()
    assert [x.key for x in proxy.data_gets()] == ["data/deep/bad.bin"]
    assert (dataset / "deep" / "bad.bin").read_bytes() == bad


@pytest.mark.asyncio
async def test_max_attempts_is_the_number_of_attempts_per_request(
    s3: Any, bucket: str, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """max_attempts=1: a GET answered 503 SlowDown is sent once, not retried."""
    s3.put_object(Bucket=bucket, Key="data/bad.bin", Body=b"x")
    proxy.respond(503, "SlowDown", key="bad.bin")
    with pytest.raises(IngestFailed):
        await via_proxy(max_attempts=1).fetch_data()
    assert len(proxy.data_gets("data/bad.bin")) == 1


@pytest.mark.asyncio
async def test_access_denied_on_one_object_is_reported_as_access_denied(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """A 403 on one GET fails that key with S3AccessError, not as a local write failure."""
    s3.put_object(Bucket=bucket, Key="data/bad.bin", Body=b"secret")
    s3.put_object(Bucket=bucket, Key="data/good.bin", Body=b"public")
    proxy.respond(403, "AccessDenied", key="bad.bin")
    with pytest.raises(IngestFailed) as excinfo:
        await via_proxy().fetch_data()
    cause = excinfo.value.failures["data/bad.bin"]
    assert (dataset / "good.bin").read_bytes() == b"public"
    assert "cannot write" not in str(cause)
    assert isinstance(cause, S3AccessError)


@pytest.mark.asyncio
async def test_an_object_that_keeps_changing_fails_without_a_mixed_file(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Rewritten before every GET: ObjectChangedError after max_attempts, nothing written."""
    put_random(s3, bucket, "data/big.bin", 2 * MiB)

    def overwrite(request: Request) -> None:
        s3.put_object(Bucket=bucket, Key="data/big.bin", Body=os.urandom(2 * MiB))

    proxy.before_forward(overwrite, key="big.bin")
    with pytest.raises(IngestFailed) as excinfo:
        await via_proxy(max_attempts=3, workers_per_file=2, part_size=1 * MiB).fetch_data()
    assert isinstance(excinfo.value.failures["data/big.bin"], ObjectChangedError)
    assert {x.status for x in proxy.data_gets()} == {412}
    assert not (dataset / "big.bin").exists()
    assert temp_files(dataset) == []


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


# -- C. ranged downloads --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_large_object_is_fetched_as_concurrent_ranges_pinned_to_its_etag(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """workers_per_file=4: an 8 MiB object arrives as 4 concurrent ranged GETs with If-Match."""
    body, etag = put_random(s3, bucket, "data/big.bin", 8 * MiB)
    proxy.delay(0.3, key="big.bin")
    await via_proxy(workers_per_file=4, part_size=1 * MiB).fetch_data()
    gets = proxy.data_gets("data/big.bin")
    step = 2 * MiB
    assert sorted(x.range or "" for x in gets) == [
        f"bytes={start}-{start + step - 1}" for start in range(0, 8 * MiB, step)
    ]
    assert {x.if_match for x in gets} == {etag}
    assert proxy.peak_data_in_flight == 4
    assert md5((dataset / "big.bin").read_bytes()) == md5(body)


@pytest.mark.asyncio
async def test_small_objects_take_one_get_and_every_get_carries_if_match(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Objects under part_size use one GET; every data GET carries If-Match = its ETag."""
    sizes = {"data/empty.bin": 0, "data/tiny.bin": 10, "data/half.bin": 512 * KiB}
    sizes["data/three.bin"] = 3 * MiB
    objects = {key: put_random(s3, bucket, key, size) for key, size in sizes.items()}
    await via_proxy(workers_per_file=4, part_size=1 * MiB).fetch_data()
    gets = proxy.data_gets()
    for exchange in gets:
        assert exchange.if_match == objects[exchange.key][1], exchange
    per_key = {key: len(proxy.data_gets(key)) for key in sizes}
    assert per_key == {
        "data/empty.bin": 0,
        "data/tiny.bin": 1,
        "data/half.bin": 1,
        "data/three.bin": 3,
    }
    for key, (body, _) in objects.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body


@pytest.mark.asyncio
async def test_an_object_rewritten_between_its_ranges_is_refetched_whole(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Overwritten before its 2nd ranged GET: a 412, then the file is entirely the new object."""
    _, old_etag = put_random(s3, bucket, "data/big.bin", 8 * MiB)
    new = os.urandom(8 * MiB)
    new_etag: list[str] = []

    def overwrite(request: Request) -> None:
        new_etag.append(s3.put_object(Bucket=bucket, Key="data/big.bin", Body=new)["ETag"])

    second_range = f"bytes={2 * MiB}-"
    rule = proxy.before_forward(
        overwrite,
        key="big.bin",
        when=lambda r: (r.range or "").startswith(second_range),
        times=1,
    )
    await via_proxy(workers_per_file=4, part_size=1 * MiB).fetch_data()
    assert rule.hits == 1
    gets = proxy.data_gets("data/big.bin")
    assert 412 in [x.status for x in gets]
    assert new_etag[0] != old_etag
    after = [x for x in gets if x.if_match == new_etag[0]]
    assert sorted(range_start(x.range) for x in after) == [0, 2 * MiB, 4 * MiB, 6 * MiB]
    assert md5((dataset / "big.bin").read_bytes()) == md5(new)
    proxy.reset_stats()
    await via_proxy(workers_per_file=4, part_size=1 * MiB).fetch_data()
    assert proxy.data_gets() == []  # recorded under the new ETag: a cache hit


@pytest.mark.asyncio
@pytest.mark.parametrize("new_size", [4 * MiB, 5 * MiB, 2 * MiB], ids=["same", "larger", "smaller"])
async def test_an_object_rewritten_before_a_resume_is_refetched_whole(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    via_proxy: Ingester,
    proxy: FaultProxy,
    new_size: int,
) -> None:
    """A body broken mid-way, then the object rewritten: the resume gets 412, no mixed file."""
    put_random(s3, bucket, "data/big.bin", 4 * MiB)
    new = os.urandom(new_size)
    proxy.reset_after(1 * MiB, key="big.bin", times=1)
    proxy.before_forward(
        lambda _: s3.put_object(Bucket=bucket, Key="data/big.bin", Body=new),
        key="big.bin",
        when=starts_past_zero,
        times=1,
    )
    await via_proxy().fetch_data()
    statuses = [(x.status, range_start(x.range)) for x in proxy.data_gets("data/big.bin")]
    assert statuses[1][0] == 412
    assert statuses[-1] == (206, 0)
    assert md5((dataset / "big.bin").read_bytes()) == md5(new)


# -- D. resume and retries ------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("fault", ["reset_after", "truncate_after"])
async def test_a_broken_body_resumes_exactly_where_it_stopped(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    via_proxy: Ingester,
    proxy: FaultProxy,
    fault: str,
) -> None:
    """A body cut after 3 of 8 MiB (all received) resumes at 3 MiB with If-Match, no waste."""
    body, etag = put_random(s3, bucket, "data/big.bin", 8 * MiB)
    rule = getattr(proxy, fault)(3 * MiB, pause=0.3, key="big.bin", times=1)
    await via_proxy(chunk_size=1 * MiB).fetch_data()
    assert rule.hits == 1
    first, resumed = proxy.data_gets("data/big.bin")
    assert (range_start(first.range), first.body_bytes) == (0, 3 * MiB)
    assert resumed.range == f"bytes={3 * MiB}-{8 * MiB - 1}"
    assert resumed.if_match == etag
    assert proxy.bytes_served("data/big.bin") <= 8 * MiB + 1 * MiB
    assert md5((dataset / "big.bin").read_bytes()) == md5(body)


@pytest.mark.asyncio
async def test_an_object_read_whole_into_one_buffer_resumes_where_it_stopped(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    via_proxy: Ingester,
    proxy: FaultProxy,
) -> None:
    """An object of less than a chunk is received whole into one buffer; a body reset after
    400 KiB resumes there, and the file is written once, byte-exact."""
    body, etag = put_random(s3, bucket, "data/mid.bin", 900 * KiB)
    rule = proxy.reset_after(400 * KiB, pause=0.3, key="mid.bin", times=1)
    await via_proxy(chunk_size=1 * MiB).fetch_data()
    assert rule.hits == 1
    first, resumed = proxy.data_gets("data/mid.bin")
    assert (range_start(first.range), first.body_bytes) == (0, 400 * KiB)
    assert resumed.range == f"bytes={400 * KiB}-{900 * KiB - 1}"
    assert resumed.if_match == etag
    assert md5((dataset / "mid.bin").read_bytes()) == md5(body)


@pytest.mark.asyncio
@pytest.mark.parametrize("fault", ["reset_after", "truncate_after"])
async def test_a_body_broken_at_once_resumes_and_does_not_restart(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    via_proxy: Ingester,
    proxy: FaultProxy,
    fault: str,
) -> None:
    """A body cut the moment 3 MiB are sent resumes from a byte past 0, never from scratch."""
    body, etag = put_random(s3, bucket, "data/big.bin", 8 * MiB)
    getattr(proxy, fault)(3 * MiB, key="big.bin", times=1)
    await via_proxy(chunk_size=1 * MiB).fetch_data()
    first, resumed = proxy.data_gets("data/big.bin")
    assert first.body_bytes == 3 * MiB
    assert 0 < range_start(resumed.range) <= 3 * MiB
    assert resumed.if_match == etag
    # What aiohttp had buffered but not handed over when the error struck is fetched again.
    assert proxy.bytes_served("data/big.bin") < 8 * MiB + 3 * MiB
    assert md5((dataset / "big.bin").read_bytes()) == md5(body)


@pytest.mark.asyncio
async def test_a_broken_range_resumes_within_its_own_range(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """One of four ranges broken mid-way resumes inside that range; the file is byte-exact."""
    body, etag = put_random(s3, bucket, "data/big.bin", 8 * MiB)
    second_range = f"bytes={2 * MiB}-"
    proxy.reset_after(
        512 * KiB,
        pause=0.3,
        key="big.bin",
        when=lambda r: (r.range or "").startswith(second_range),
        times=1,
    )
    await via_proxy(workers_per_file=4, part_size=1 * MiB).fetch_data()
    ranges = sorted((range_start(x.range), x.range) for x in proxy.data_gets("data/big.bin"))
    assert [r for _, r in ranges] == [
        f"bytes=0-{2 * MiB - 1}",
        f"bytes={2 * MiB}-{4 * MiB - 1}",
        f"bytes={2 * MiB + 512 * KiB}-{4 * MiB - 1}",
        f"bytes={4 * MiB}-{6 * MiB - 1}",
        f"bytes={6 * MiB}-{8 * MiB - 1}",
    ]
    assert {x.if_match for x in proxy.data_gets()} == {etag}
    assert md5((dataset / "big.bin").read_bytes()) == md5(body)


@pytest.mark.asyncio
async def test_a_stalled_body_is_cut_by_the_read_timeout_and_resumed(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """A body that hangs mid-way is cut after read_timeout and resumed where it stopped."""
    body, _ = put_random(s3, bucket, "data/big.bin", 4 * MiB)
    proxy.stall_after(1 * MiB, 10.0, key="big.bin", times=1)
    await via_proxy(read_timeout=0.5).fetch_data()
    gets = proxy.data_gets("data/big.bin")
    assert len(gets) == 2
    assert 0 < range_start(gets[1].range) <= 1 * MiB
    assert md5((dataset / "big.bin").read_bytes()) == md5(body)


@pytest.mark.asyncio
async def test_throttling_and_server_errors_are_retried(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """503 SlowDown and 500 InternalError on some GETs are retried; the files are byte-exact."""
    objects = {
        f"data/{name}.bin": put_random(s3, bucket, f"data/{name}.bin", 2 * MiB)[0]
        for name in ("a", "b", "c")
    }
    rules = [
        proxy.respond(503, "SlowDown", key="a.bin", times=1),
        proxy.respond(500, "InternalError", key="b.bin", times=1),
        proxy.respond(503, "SlowDown", key="c.bin", when=starts_past_zero, times=1),
    ]
    await via_proxy(workers_per_file=2, part_size=1 * MiB).fetch_data()
    assert [rule.hits for rule in rules] == [1, 1, 1]
    assert sorted(x.status for x in proxy.data_gets()) == [206] * 6 + [500, 503, 503]
    for key, body in objects.items():
        assert md5((dataset / key.removeprefix("data/")).read_bytes()) == md5(body)


# -- F. memory ------------------------------------------------------------------------------

# The child's own peak RSS. Not ru_maxrss: Linux carries the parent's high-water mark into a
# child across fork/exec, and the parent (with moto's objects in memory) is far bigger.
_MEASURE = textwrap.dedent(
    """
    import asyncio, pathlib, sys
    from aio_s3_ingest import AsyncS3Ingester

    bucket, prefix, dest, endpoint = sys.argv[1:5]
    ingester = AsyncS3Ingester(
        bucket, prefix, dataset_id="m", destination_directory=dest,
        endpoint_url=endpoint, chunk_size=1024 * 1024,
    )
    sys.stdin.readline()  # the object is in place
    asyncio.run(ingester.fetch_data())
    status = pathlib.Path("/proc/self/status").read_text()
    print(status.split("VmHWM:")[1].split()[0])  # kB
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_memory_does_not_grow_with_object_size(
    s3: Any, bucket: str, tmp_path: pathlib.Path, moto_endpoint: str
) -> None:
    """A 64 MiB object peaks at far less extra memory than its size over an 8 MiB one."""
    sizes = {"big/": 64 * MiB, "small/": 8 * MiB}
    children = {  # started first: their imports overlap the uploads
        prefix: subprocess.Popen(
            [sys.executable, "-c", _MEASURE, bucket, prefix, str(tmp_path / prefix), moto_endpoint],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for prefix in sizes
    }
    for prefix, size in sizes.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}blob.bin", Body=b"\x5a" * size)
    for child in children.values():
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    peak_kib = {}
    for prefix, child in children.items():
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        peak_kib[prefix] = int(out.split()[-1])
        assert (tmp_path / prefix / "m" / "blob.bin").stat().st_size == sizes[prefix]
    growth = (peak_kib["big/"] - peak_kib["small/"]) * KiB
    assert growth < 24 * MiB, f"peak RSS grew by {growth / MiB:.1f} MiB for 56 MiB more data"


@pytest.mark.asyncio
async def test_a_redirect_hands_the_run_over_to_botocore(
    s3: Any, bucket: str, dataset: pathlib.Path, make_ingester: Ingester, proxy: FaultProxy
) -> None:
    """A direct GET answered with a region redirect makes the rest of the run use botocore's
    get_object (which handles redirects); the files are complete."""
    objects = {
        f"data/{i}.bin": put_random(s3, bucket, f"data/{i}.bin", 1000 + i)[0] for i in range(3)
    }
    rule = proxy.respond(301, "PermanentRedirect", key="data/", times=1)
    await make_ingester(endpoint_url=proxy.url, max_concurrent_files=1).fetch_data()
    assert rule.hits == 1
    assert sorted(x.status for x in proxy.data_gets()) == [206, 206, 206, 301]
    for key, body in objects.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body
