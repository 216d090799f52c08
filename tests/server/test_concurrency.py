"""Concurrency: how many GETs are in flight, counted at the proxy while it delays each one."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)

MiB = 1024 * 1024

Ingester = Callable[..., AsyncS3Ingester]


@pytest.fixture
def via_proxy(make_ingester: Ingester, proxy: FaultProxy) -> Ingester:
    """make_ingester, pointed at the proxy."""
    return lambda **options: make_ingester(endpoint_url=proxy.url, **options)


def put_many(s3: Any, bucket: str, count: int, size: int, name: str = "f") -> list[str]:
    keys = [f"data/{name}{i:02d}.bin" for i in range(count)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(size))
    return keys


@pytest.mark.asyncio
async def test_max_concurrent_files_caps_the_files_in_flight_and_is_reached(
    s3: Any, bucket: str, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """20 files delayed 0.3 s each with max_concurrent_files=3: exactly 3 GETs at once."""
    keys = put_many(s3, bucket, 20, 1024)
    proxy.delay(0.3, key="data/f")
    await via_proxy(max_concurrent_files=3).fetch_data()
    assert sorted(x.key for x in proxy.data_gets()) == keys
    assert proxy.peak_data_in_flight == 3


@pytest.mark.asyncio
async def test_ranges_multiply_the_requests_in_flight(
    s3: Any, bucket: str, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """2 files at once, 3 ranges each: 6 GETs in flight, never more."""
    keys = put_many(s3, bucket, 4, 3 * MiB)
    proxy.delay(0.3, key="data/f")
    await via_proxy(max_concurrent_files=2, workers_per_file=3, part_size=1 * MiB).fetch_data()
    assert sorted(x.key for x in proxy.data_gets()) == sorted(keys * 3)
    assert proxy.peak_data_in_flight == 6


@pytest.mark.asyncio
async def test_the_connection_pool_fits_every_request_in_flight(
    s3: Any, bucket: str, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """16 files at once all reach the server (botocore's default pool of 10 would queue 6)."""
    put_many(s3, bucket, 16, 1024)
    proxy.delay(0.5, key="data/f")
    await via_proxy(max_concurrent_files=16).fetch_data()
    assert proxy.peak_data_in_flight == 16
    assert proxy.connections >= 16


@pytest.mark.asyncio
async def test_a_slow_file_does_not_hold_up_the_others(
    s3: Any, bucket: str, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Files are not fetched in fixed batches: the other slot keeps going past a slow file."""
    s3.put_object(Bucket=bucket, Key="data/slow.bin", Body=os.urandom(64 * 1024))
    fast = put_many(s3, bucket, 5, 1024, name="fast")
    proxy.delay(1.2, key="slow.bin")
    proxy.delay(0.05, key="fast")
    await via_proxy(max_concurrent_files=2).fetch_data()
    (slow,) = proxy.data_gets("data/slow.bin")
    fast_gets = [x for x in proxy.data_gets() if x.key in fast]
    assert len(fast_gets) == 5
    assert all(x.started < slow.ended and x.ended < slow.ended for x in fast_gets)
    assert proxy.peak_data_in_flight == 2
