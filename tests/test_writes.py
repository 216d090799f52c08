"""Small files are written on the loop's thread until writes turn slow, then on workers."""

from __future__ import annotations

import threading
import time

import pytest

from aio_s3_ingest._writes import SLOW_WRITE_SECONDS, SLOW_WRITES_TOLERATED, SmallWrites


@pytest.mark.asyncio
async def test_quick_writes_stay_on_the_loop_thread() -> None:
    """Writes well under the limit run where the loop runs, however many there are."""
    writes = SmallWrites()
    threads = {await writes.run(threading.get_ident) for _ in range(50)}
    assert threads == {threading.get_ident()}
    assert writes.inline


@pytest.mark.asyncio
async def test_slow_writes_move_the_rest_of_the_run_to_worker_threads() -> None:
    """After a few writes over the limit, later writes run on worker threads; a failing
    write still raises where it was awaited."""

    def slow_write() -> int:
        time.sleep(SLOW_WRITE_SECONDS * 2)
        return threading.get_ident()

    writes = SmallWrites()
    first = [await writes.run(slow_write) for _ in range(SLOW_WRITES_TOLERATED)]
    assert first == [threading.get_ident()] * SLOW_WRITES_TOLERATED
    assert not writes.inline
    assert await writes.run(threading.get_ident) != threading.get_ident()

    def broken() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await writes.run(broken)
