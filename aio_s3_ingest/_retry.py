"""Backoff between attempts, shared by every retry loop of the library."""

from __future__ import annotations

import asyncio
import random

BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 20.0


async def backoff(attempt: int) -> None:
    """Full jitter: clients that failed together do not come back together."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    await asyncio.sleep(random.uniform(0, ceiling))


def describe(exc: BaseException | None) -> str:
    """An exception as one line: its type, and its message when it has one."""
    if exc is None:
        return "no attempt made"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
