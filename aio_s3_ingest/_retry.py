"""What is worth another attempt, and how long to wait before it: shared by every retry
loop of the library."""

from __future__ import annotations

import asyncio
import random

import botocore.exceptions as bce

BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 20.0

# S3 asking us to slow down: retried, and the throttle lowers the requests in flight.
THROTTLE_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "RequestLimitExceeded"}
)
# Error answers another attempt may fare better with (botocore's standard mode, for S3).
RETRY_STATUS = frozenset({500, 502, 503, 504})
RETRY_CODES = THROTTLE_CODES | {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "InternalError",
    "ServiceUnavailable",
}
# Answers that mean "ask S3 in another region": botocore's redirector re-sends them, so
# the direct path hands them to botocore.
REGION_CODES = frozenset({"AuthorizationHeaderMalformed", "PermanentRedirect", "TemporaryRedirect"})
# A request that got no answer; retried, unless the cause is a certificate that cannot be
# verified (see aio_s3_ingest._s3errors.certificate_failure).
NO_ANSWER = (OSError, asyncio.TimeoutError)
# A body that broke off mid-stream: resumed from the byte reached, not restarted.
BROKEN_BODY = (
    bce.ResponseStreamingError,
    bce.IncompleteReadError,
    bce.ReadTimeoutError,
    ConnectionError,  # includes HttpError, which aiohttp's errors in bodies become
    asyncio.TimeoutError,
)


async def backoff(attempt: int) -> None:
    """Full jitter: clients that failed together do not come back together."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    await asyncio.sleep(random.uniform(0, ceiling))


def retryable_answer(status: int, code: str | None) -> bool:
    """True for an error answer another attempt may fare better with."""
    return status in RETRY_STATUS or code in RETRY_CODES


def describe(exc: BaseException | None) -> str:
    """An exception as one line: its type, and its message when it has one."""
    if exc is None:
        return "no attempt made"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
