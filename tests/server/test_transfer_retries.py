"""Retries: a broken or stalled body resumes where it stopped; errors and redirects are retried."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._transfer import (
    Ingester,
    KiB,
    MiB,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    md5,
    put_random,
    range_start,
    starts_past_zero,
    via_proxy_fixture,  # noqa: F401 - the "via_proxy" fixture
)


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
    assert sorted(x.status for x in proxy.data_gets()) == [200, 200, 200, 301]
    for key, body in objects.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body
