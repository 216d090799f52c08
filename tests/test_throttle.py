"""Throttling is counted, logged sparingly, and lowers the requests in flight until it stops."""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import time
from typing import Any

import pytest

from aio_s3_ingest import ProgressEvent, Throttled
from aio_s3_ingest._run import Run
from aio_s3_ingest._s3.throttle import Throttle
from tests._helpers import MakeIngester
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401


def _events() -> tuple[list[ProgressEvent], Any]:
    seen: list[ProgressEvent] = []
    return seen, seen.append


def test_slowdown_halves_once_per_burst_and_successes_recover() -> None:
    """A burst of SlowDowns halves the limit once; each success gives one slot back."""
    seen, notify = _events()
    throttle = Throttle(16)
    run = Run(notify)
    throttle.on_throttled("a", run)
    throttle.on_throttled("b", run)  # same burst: counted, but no second halving
    assert (throttle.limit, throttle.throttled, run.throttled) == (8, 2, 2)
    for _ in range(20):
        throttle.on_success()
    assert throttle.limit == 16
    assert [e.limit for e in seen if isinstance(e, Throttled)] == [8, 8]


@pytest.mark.asyncio
async def test_slots_respect_the_current_limit() -> None:
    """No more holders than the limit at once; a lowered limit admits fewer."""
    throttle = Throttle(4)
    throttle.limit = 2
    holding, peak = 0, 0

    async def hold() -> None:
        nonlocal holding, peak
        async with throttle.slot():
            holding += 1
            peak = max(peak, holding)
            await asyncio.sleep(0.01)
            holding -= 1

    await asyncio.gather(*(hold() for _ in range(10)))
    assert peak == 2


@pytest.mark.asyncio
async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    """A waiter cancelled after being woken, before it ran, does not strand the others."""
    throttle = Throttle(1)

    async def take_and_release() -> None:
        async with throttle.slot():
            pass

    held = throttle.slot()
    await held.__aenter__()
    doomed = asyncio.create_task(take_and_release())
    patient = asyncio.create_task(take_and_release())
    await asyncio.sleep(0)  # both wait for the one slot
    await held.__aexit__(None, None, None)  # wakes `doomed` without letting it run
    doomed.cancel()
    await asyncio.wait_for(patient, timeout=2)
    assert doomed.cancelled()


@pytest.mark.asyncio
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_slowdown_on_the_wire_is_counted_warned_and_slows_the_client(
    direct_get: bool,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """24 SlowDowns: each is a Throttled event, the allowed requests in flight drop below
    the maximum, WARNINGs come at most once a second, and every file lands."""
    objects = {f"data/{i:02d}.bin": os.urandom(4096 + i) for i in range(40)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    proxy.delay(0.05, key="data/")
    rule = proxy.respond(503, "SlowDown", key="data/", times=24)
    seen, notify = _events()
    caplog.set_level(logging.WARNING, logger="aio_s3_ingest")
    started = time.monotonic()
    report = await make_ingester(
        endpoint_url=proxy.url,
        max_concurrent_files=16,
        max_attempts=10,
        progress=notify,
        direct_get=direct_get,
    ).sync()
    elapsed = time.monotonic() - started

    throttled = [e for e in seen if isinstance(e, Throttled)]
    assert rule.hits == 24
    assert (report.throttled, report.retries) == (24, 24)
    assert report.requests == len(objects) + 24 + 1  # one listing page
    assert [e.count for e in throttled] == list(range(1, 25))
    assert min(e.limit for e in throttled) < 16
    warnings = [r for r in caplog.records if "throttling" in r.getMessage()]
    assert 1 <= len(warnings) <= int(elapsed) + 1
    for key, body in objects.items():
        assert (dest / "ds" / key.removeprefix("data/")).read_bytes() == body
