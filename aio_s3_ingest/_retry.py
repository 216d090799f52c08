"""The one retry policy: what is worth another attempt, how long to wait before it, and
how many attempts a request, or a range, gets in all.

A range (or the S3 manifest, read whole) has one budget of ``max_attempts`` GETs, shared
by the requests that fail and the bodies that break and are resumed: a range that fails
every way is sent at most ``max_attempts`` GETs (per version of its object; a changed
object starts afresh, see :func:`aio_s3_ingest._transfer.fetch.fetch_file`). On the
botocore getter, botocore's own retries draw from the range's budget too, and end when it
is spent (:func:`aio_s3_ingest._run.count_botocore_requests`). A direct listing page has
a budget of its own; botocore's HEADs and listing pages have its ``total_max_attempts``,
the same number.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import botocore.exceptions as bce

if TYPE_CHECKING:
    from ._run import Run

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
# the direct path hands them to botocore, and they never end a botocore call early.
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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` per request or range, with full-jitter exponential backoff."""

    max_attempts: int

    def attempts(self, run: Run) -> Attempts:
        """A fresh budget for one range (or one request), its GETs counted into ``run``."""
        return Attempts(self, run)

    async def backoff(self, attempt: int) -> None:
        """Full jitter: clients that failed together do not come back together."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
        await asyncio.sleep(random.uniform(0, ceiling))


class Attempts:
    """The attempts one range (or one request) has used; each GET is counted into the run
    it serves, as a retry unless it is the first."""

    __slots__ = ("_policy", "run", "used")

    def __init__(self, policy: RetryPolicy, run: Run) -> None:
        self._policy = policy
        self.run = run
        self.used = 0

    @property
    def left(self) -> int:
        return max(0, self._policy.max_attempts - self.used)

    def take(self) -> None:
        """Count one GET about to be sent."""
        self.run.requests += 1
        self.run.retries += self.used > 0
        self.used += 1

    def give_back(self) -> None:
        """The GET just counted is sent again on the botocore path, which the direct path
        handed it to: not a failure, so it costs the range nothing."""
        self.used -= 1

    async def backoff(self) -> None:
        await self._policy.backoff(self.used)


def retryable_answer(status: int, code: str | None) -> bool:
    """True for an error answer another attempt may fare better with."""
    return status in RETRY_STATUS or code in RETRY_CODES


def describe(exc: BaseException | None) -> str:
    """An exception as one line: its type, and its message when it has one."""
    if exc is None:
        return "no attempt made"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
