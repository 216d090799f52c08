"""Small files are written on the loop's thread while writes are quick on average."""

from __future__ import annotations

import threading
import time

import pytest

from aio_s3_ingest._writes import SLOW_WRITE_SECONDS, SmallWrites


def _slow_write() -> int:
    time.sleep(SLOW_WRITE_SECONDS * 3)
    return threading.get_ident()


@pytest.mark.asyncio
async def test_quick_writes_stay_on_the_loop_thread() -> None:
    """Writes well under the limit run where the loop runs, however many there are."""
    writes = SmallWrites()
    threads = {await writes.run(threading.get_ident) for _ in range(50)}
    assert threads == {threading.get_ident()}
    assert writes.inline


@pytest.mark.asyncio
async def test_a_lone_stall_does_not_move_writes_off_the_loop() -> None:
    """One slow write among quick ones (a journal flush, say) is not a slow filesystem."""
    writes = SmallWrites()
    for _ in range(20):
        await writes.run(threading.get_ident)
    await writes.run(_slow_write)
    assert writes.inline
    assert await writes.run(threading.get_ident) == threading.get_ident()


@pytest.mark.asyncio
async def test_slow_writes_move_to_worker_threads_and_come_back_when_quick() -> None:
    """Writes that stay slow go to worker threads; once quick again, back to the loop. A
    failing write raises where it was awaited, wherever it ran."""
    writes = SmallWrites()
    ran_on = [await writes.run(_slow_write) for _ in range(20)]
    assert ran_on[0] == threading.get_ident()
    assert not writes.inline
    assert ran_on[-1] != threading.get_ident()

    def broken() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await writes.run(broken)

    for _ in range(40):
        await writes.run(threading.get_ident)
    assert writes.inline
    assert await writes.run(threading.get_ident) == threading.get_ident()
