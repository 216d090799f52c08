"""The throttle on its own: a burst of SlowDowns halves the limit once, successes give it
back, and its slots admit no more than the limit (on the wire: tests/server/test_throttle.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aio_s3_ingest import ProgressEvent, Throttled
from aio_s3_ingest._run import Run
from aio_s3_ingest._s3.throttle import Throttle


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
