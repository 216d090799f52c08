"""Many faults at once on the wire: every file still ends byte-exact."""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import random
from typing import Any

import pytest

from tests._helpers import MakeIngester, data_files
from tests._proxy import FaultProxy, Request, Rule, proxy_fixture  # noqa: F401

KiB, MiB = 1024, 1024 * 1024


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class _Faults:
    """One seeded draw per data GET picks at most one fault, so each injected fault is
    exactly one failed exchange: 30% SlowDown; then 5% reset after the first body byte,
    except for ranges over 600 KiB: the first such range of each of the ``late_keys`` not
    answered SlowDown is reset after 600 KiB (chosen, not drawn, so that the few large
    bodies are broken mid-way a known number of times whatever order requests come in)."""

    LATE_CUT = 600 * KiB

    def __init__(self, seed: int, late_keys: set[str], sizes: dict[str, int]) -> None:
        self._rng = random.Random(seed)
        self._draw = 1.0
        self._late_keys = set(late_keys)
        self._sizes = sizes

    def slowdown(self, request: Request) -> bool:
        self._draw = self._rng.random() if request.key in self._sizes else 1.0
        return self._draw < 0.30

    def early_reset(self, request: Request) -> bool:
        return not self._long(request) and 0.30 <= self._draw < 0.35

    def late_reset(self, request: Request) -> bool:
        slowed_down = self._draw < 0.30  # every rule is asked; only one fault per exchange
        if slowed_down or not self._long(request) or request.key not in self._late_keys:
            return False
        self._late_keys.discard(request.key)
        return True

    def _long(self, request: Request) -> bool:
        if request.range is None:  # the whole object
            return self._sizes.get(request.key, 0) > self.LATE_CUT
        start, _, end = request.range.removeprefix("bytes=").partition("-")
        return int(end) - int(start) + 1 > self.LATE_CUT


def _random_objects(workers_per_file: int) -> dict[str, bytes]:
    """190 objects of up to 96 KiB and 10 of just over 3 MiB, keyed ``data/NNN/obj.bin``;
    their sizes drawn from a seed of ``workers_per_file``, their bytes random."""
    rng = random.Random(20261124 + workers_per_file)
    sizes = [rng.randint(1, 96 * KiB) for _ in range(190)] + [3 * MiB + i for i in range(10)]
    return {f"data/{i:03d}/obj.bin": os.urandom(size) for i, size in enumerate(sizes)}


def _inject_faults(
    proxy: FaultProxy, objects: dict[str, bytes], seed: int
) -> tuple[Rule, Rule, Rule]:
    """The proxy's rules for :class:`_Faults` drawn from ``seed``, the late resets on every
    other object over 1 MiB: (SlowDown, early reset, late reset)."""
    late_keys = {key for key in objects if len(objects[key]) > MiB}
    sizes = {key: len(body) for key, body in objects.items()}
    faults = _Faults(seed=seed, late_keys=set(sorted(late_keys)[::2]), sizes=sizes)
    # Rules are matched in this order for each request (the proxy's contract).
    slowdown = proxy.respond(503, "SlowDown", when=faults.slowdown)
    early = proxy.reset_after(1, when=faults.early_reset)
    late = proxy.reset_after(_Faults.LATE_CUT, when=faults.late_reset)
    return slowdown, early, late


def _bytes_re_requested(proxy: FaultProxy, objects: dict[str, bytes]) -> int:
    """Body bytes the proxy served for ``objects`` beyond their sizes: fetched again."""
    served = sum(proxy.bytes_served(key) for key in objects)
    return served - sum(len(body) for body in objects.values())


def _log_the_faults(objects: int, slowdowns: int, resets: int, extra: int, retries: int) -> None:
    logging.getLogger(__name__).info(
        "%d objects; injected %d SlowDown, %d resets; re-requested %s bytes over the "
        "minimum; %d retries",
        objects,
        slowdowns,
        resets,
        f"{extra:,}",
        retries,
    )


def _assert_every_file_byte_exact(dataset: pathlib.Path, objects: dict[str, bytes]) -> None:
    """One file per object, each with its object's MD5; no temp file left."""
    assert len(data_files(dataset)) == len(objects)
    corrupt = [
        key
        for key, body in objects.items()
        if _md5((dataset / key.removeprefix("data/")).read_bytes()) != _md5(body)
    ]
    assert corrupt == []
    assert list((dataset / ".aio-s3-ingest" / "tmp").iterdir()) == []


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
    objects = _random_objects(workers_per_file)
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    slowdown, early, late = _inject_faults(proxy, objects, seed=workers_per_file)
    ingester = make_ingester(
        endpoint_url=proxy.url,
        direct_get=direct_get,
        workers_per_file=workers_per_file,
        part_size=1 * MiB,
        max_attempts=12,
        max_concurrent_files=16,
    )
    report = await ingester.sync()

    assert slowdown.hits > 50  # the faults really happened
    assert early.hits > 3
    assert late.hits == 5  # every other one of the 10 objects with ranges that long
    resets = early.hits + late.hits
    assert (report.throttled, report.retries) == (slowdown.hits, slowdown.hits + resets)
    extra = _bytes_re_requested(proxy, objects)
    assert 0 <= extra <= resets * ingester.config.chunk_size  # only what a reset lost
    _log_the_faults(len(objects), slowdown.hits, resets, extra, report.retries)
    _assert_every_file_byte_exact(dest / "ds", objects)
