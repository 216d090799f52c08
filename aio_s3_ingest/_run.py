"""A run's state, passed down its call path: its counters (requests, retries, SlowDowns)
and its progress listener.

botocore's event hooks are called with no arguments of ours, so for them alone a context
variable names the run (and the object, and a range's attempt budget) that the botocore
calls in a block serve: :func:`botocore_call` sets it around each call, the hooks read it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

from ._progress import ProgressCallback, ignore
from ._retry import REGION_CODES, THROTTLE_CODES, Attempts

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from ._s3.throttle import Throttle


@dataclass(slots=True)
class Run:
    """What one run has sent and met so far, and who listens to its progress."""

    notify: ProgressCallback = ignore
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    resumed_bytes: int = 0  # of the files fetched, bytes an earlier run left on disk


@dataclass(frozen=True, slots=True)
class _Call:
    run: Run
    key: str
    attempts: Attempts | None


# The library's one context variable: botocore's hooks have no other way to find the run.
_calling: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "aio_s3_ingest_call", default=None
)


@contextmanager
def botocore_call(run: Run, key: str = "", attempts: Attempts | None = None) -> Iterator[None]:
    """Tell botocore's hooks whom the botocore calls in this block serve: ``run``, the
    object ``key`` (for a Throttled event) and, for a GET of a range, its ``attempts``."""
    token = _calling.set(_Call(run, key, attempts))
    try:
        yield
    finally:
        _calling.reset(token)


def count_botocore_requests(client: S3Client, throttle: Throttle) -> None:
    """Count every attempt botocore sends (into its run, and its range's budget), feed its
    SlowDowns to ``throttle``, and end its retries once the range's budget is spent."""
    client.meta.events.register("request-created.s3", _on_request_created)

    def on_needs_retry(
        response: Any = None, caught_exception: Any = None, operation: Any = None, **_: Any
    ) -> None:
        call = _calling.get() or _Call(Run(), "", None)
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else None
        code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        if code in THROTTLE_CODES:
            throttle.on_throttled(call.key, call.run)
        if call.attempts is not None and not call.attempts.left:
            _end_spent(response, caught_exception, operation, code)

    # First, so that a call it ends has its SlowDown counted and retries nothing.
    client.meta.events.register_first("needs-retry.s3", on_needs_retry)


def _on_request_created(request: Any = None, **_: Any) -> None:
    call = _calling.get()
    if call is None:
        return
    if call.attempts is not None:
        call.attempts.take()
        return
    call.run.requests += 1
    retries = getattr(request, "context", {}).get("retries", {})
    call.run.retries += retries.get("attempt", 1) > 1


def _end_spent(response: Any, caught_exception: Any, operation: Any, code: Any) -> None:
    """The range's budget is spent: end botocore's call with this attempt's failure, the
    one botocore raises once it stops retrying. A redirect to the bucket's region is no
    failure: botocore re-sends it."""
    if caught_exception is not None:
        raise caught_exception
    if response is None:
        return
    http_response, parsed = response
    if http_response.status_code >= 400 and code not in REGION_CODES:
        raise bce.ClientError(parsed, operation.name)
