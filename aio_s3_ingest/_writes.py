"""Where small files are written: on the event loop's thread, while that stays quick.

Handing a small file to a worker thread costs more CPU than writing it: on this
project's benchmark (2,000 x 64 KiB to a local disk) the thread hops took the client
from 3.5 to 5.1 s of CPU for the same wall time. So a small file is written where its
bytes already are, and each such write is timed; after a few slow ones (a network
filesystem, a saturated disk) the rest of the run writes from worker threads, so the
loop is never held for more than a couple of milliseconds at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import anyio

from ._log import logger

_T = TypeVar("_T")

SLOW_WRITE_SECONDS = 0.002
SLOW_WRITES_TOLERATED = 3


class SmallWrites:
    """Runs one small file's blocking write, inline or on a worker thread."""

    def __init__(self) -> None:
        self.inline = True
        self._slow = 0

    async def run(self, write: Callable[[], _T]) -> _T:
        if not self.inline:
            return await anyio.to_thread.run_sync(write)
        started = time.perf_counter()
        try:
            return write()
        finally:
            if time.perf_counter() - started > SLOW_WRITE_SECONDS:
                self._note_slow_write()

    def _note_slow_write(self) -> None:
        self._slow += 1
        if self._slow >= SLOW_WRITES_TOLERATED:
            self.inline = False
            logger.debug(
                "small-file writes took over %.0f ms %d times: using worker threads",
                SLOW_WRITE_SECONDS * 1000,
                self._slow,
            )
