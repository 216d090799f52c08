"""Per-run counters (requests, retries, SlowDowns) and the run's progress listener.

They live in a context variable: the tasks of a run inherit it, two runs on one
shared client each see their own, and botocore's event hooks, which are called with
no arguments of ours, can still find the run they serve.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._progress import ProgressCallback, ignore
from ._retry import THROTTLE_CODES

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from ._s3.throttle import Throttle


@dataclass(slots=True)
class RunTally:
    """What one run has sent and met so far."""

    notify: ProgressCallback = ignore
    requests: int = 0
    retries: int = 0
    throttled: int = 0


_current: contextvars.ContextVar[RunTally | None] = contextvars.ContextVar(
    "aio_s3_ingest_run", default=None
)
_current_key: contextvars.ContextVar[str] = contextvars.ContextVar("aio_s3_ingest_key", default="")


def current() -> RunTally:
    """The running run's tally; outside a run, a throwaway one."""
    return _current.get() or RunTally()


@contextmanager
def counting(notify: ProgressCallback) -> Iterator[RunTally]:
    """Count for one run, in this task and every task it starts."""
    tally = RunTally(notify=notify)
    token = _current.set(tally)
    try:
        yield tally
    finally:
        _current.reset(token)


@contextmanager
def requesting(key: str) -> Iterator[None]:
    """Name the object the botocore calls made in this block are about."""
    token = _current_key.set(key)
    try:
        yield
    finally:
        _current_key.reset(token)


def count_botocore_requests(client: S3Client, throttle: Throttle) -> None:
    """Count every attempt botocore sends, and feed its SlowDowns to ``throttle``."""
    client.meta.events.register("request-created.s3", _on_request_created)

    def on_needs_retry(response: Any = None, **_: Any) -> None:
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else None
        code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        if code in THROTTLE_CODES:
            throttle.on_throttled(_current_key.get())

    client.meta.events.register("needs-retry.s3", on_needs_retry)


def _on_request_created(request: Any = None, **_: Any) -> None:
    tally = current()
    tally.requests += 1
    retries = getattr(request, "context", {}).get("retries", {})
    if retries.get("attempt", 1) > 1:
        tally.retries += 1
