"""Adaptive back-pressure: S3's SlowDown lowers the requests we keep in flight.

S3 throttles per prefix; a client that keeps every slot busy while being throttled
only earns more 503s. On each SlowDown the allowed number of requests waiting for
their answer is halved (at most once per window, so one burst counts once); each
success gives one slot back, up to the configured maximum.
"""

from __future__ import annotations

import asyncio
import collections
import time
from types import TracebackType
from typing import TYPE_CHECKING

from .._log import logger
from .._progress import Throttled

if TYPE_CHECKING:
    from .._run import Run

_DECREASE_WINDOW_SECONDS = 0.2
_WARN_INTERVAL_SECONDS = 1.0


class Throttle:
    """A gate with a limit that SlowDown halves and successes raise again."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.limit = max_in_flight
        self.throttled = 0
        self._in_flight = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._last_decrease = float("-inf")
        self._last_warning = float("-inf")
        self._slot = _Slot(self)

    def slot(self) -> _Slot:
        """Hold one of the currently allowed slots while a request waits for its answer."""
        return self._slot

    def on_success(self) -> None:
        if self.limit < self.max_in_flight:
            self.limit += 1
            self._wake()

    def on_throttled(self, key: str, run: Run) -> None:
        """Count a SlowDown (here and in ``run``, the run it met), halve the limit, and
        warn (at most once a second)."""
        self.throttled += 1
        run.throttled += 1
        now = time.monotonic()
        if now - self._last_decrease >= _DECREASE_WINDOW_SECONDS:
            self._last_decrease = now
            self.limit = max(1, self.limit // 2)
        if now - self._last_warning >= _WARN_INTERVAL_SECONDS:
            self._last_warning = now
            logger.warning(
                "S3 is throttling requests (SlowDown, %d so far); %d request(s) in flight "
                "allowed until it stops",
                self.throttled,
                self.limit,
            )
        run.notify(Throttled(key=key, count=run.throttled, limit=self.limit))

    async def _wait_turn(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # woken, then cancelled: pass the turn on
            else:
                waiter.cancel()
            raise

    def _wake(self) -> None:
        free = self.limit - self._in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


class _Slot:
    """The async context of :meth:`Throttle.slot`: a class, as a generator-based one
    costs the loop noticeably more per request on small objects (figures:
    benchmarks/README.md, "Design figures behind the code"). Holds no state of its own."""

    __slots__ = ("_throttle",)

    def __init__(self, throttle: Throttle) -> None:
        self._throttle = throttle

    async def __aenter__(self) -> None:
        throttle = self._throttle
        while throttle._in_flight >= throttle.limit:
            await throttle._wait_turn()
        throttle._in_flight += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        throttle = self._throttle
        throttle._in_flight -= 1
        throttle._wake()  # synchronous: a cancelled holder still hands its slot on
