"""Ranged downloads: concurrent ranges and every GET pinned to the object's ETag by If-Match."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest

from tests._proxy import (
    FaultProxy,
    Request,
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
    assert statuses[-1] == (200, 0)  # the new object, whole, in one GET
    assert md5((dataset / "big.bin").read_bytes()) == md5(new)
