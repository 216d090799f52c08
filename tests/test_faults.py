"""Many faults at once on the wire: every file still ends byte-exact."""

from __future__ import annotations

import hashlib
import os
import pathlib
import random
from typing import Any

import pytest

from tests._helpers import MakeIngester, data_files
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401

KiB, MiB = 1024, 1024 * 1024


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _chance(rng: random.Random, share: float) -> Any:
    """A request predicate true for about ``share`` of data GETs (seeded: reproducible)."""
    return lambda request: request.range is not None and rng.random() < share


@pytest.mark.asyncio
@pytest.mark.parametrize("workers_per_file", [1, 4])
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_slowdown_and_resets_leave_every_file_byte_exact(
    workers_per_file: int,
    direct_get: bool,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
) -> None:
    """30% of GETs answered 503 SlowDown and 5% reset mid-body, on 200 small and large
    objects: the run succeeds, and every local file has its object's MD5."""
    rng = random.Random(20261124 + workers_per_file)
    sizes = [rng.randint(1, 96 * KiB) for _ in range(190)] + [3 * MiB + i for i in range(10)]
    objects = {f"data/{i:03d}/obj.bin": os.urandom(size) for i, size in enumerate(sizes)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    slowdown = proxy.respond(503, "SlowDown", when=_chance(rng, 0.30))
    early = proxy.reset_after(1, when=_chance(rng, 0.025))
    late = proxy.reset_after(600 * KiB, when=_chance(rng, 0.025))

    ingester = make_ingester(
        endpoint_url=proxy.url,
        direct_get=direct_get,
        workers_per_file=workers_per_file,
        part_size=1 * MiB,
        max_attempts=12,
        max_concurrent_files=16,
    )
    await ingester.fetch_data()

    assert slowdown.hits > 50  # the faults really happened
    assert early.hits + late.hits > 5
    dataset = dest / "ds"
    assert len(data_files(dataset)) == len(objects)
    corrupt = [
        key
        for key, body in objects.items()
        if _md5((dataset / key.removeprefix("data/")).read_bytes()) != _md5(body)
    ]
    assert corrupt == []
    assert list((dataset / ".aio-s3-ingest" / "tmp").iterdir()) == []
