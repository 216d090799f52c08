"""Where and how data is written: small files on the loop while writes are quick, and
every write in pieces."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

import aio_s3_ingest._transfer.writes as writes_module
from aio_s3_ingest._local.layout import WRITE_BYTES, pieces
from aio_s3_ingest._transfer.writes import SLOW_WRITE_SECONDS, SmallWrites


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
async def test_a_lone_stall_does_not_move_writes_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One slow write among quick ones (a journal flush, say) is not a slow filesystem.
    The writes take the times the test gives them on a clock of its own, so a busy
    machine cannot stretch the stall."""
    now = [0.0]
    monkeypatch.setattr(writes_module.time, "perf_counter", lambda: now[0])

    def taking(seconds: float) -> Callable[[], int]:
        def write() -> int:
            now[0] += seconds
            return threading.get_ident()

        return write

    writes = SmallWrites()
    for _ in range(20):
        await writes.run(taking(SLOW_WRITE_SECONDS / 100))
    await writes.run(taking(SLOW_WRITE_SECONDS * 3))
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


@pytest.mark.parametrize("size", [0, 1, WRITE_BYTES - 1, WRITE_BYTES, 3 * WRITE_BYTES + 17])
def test_data_is_written_in_pieces_that_add_up_to_it(size: int) -> None:
    """Every piece is at most WRITE_BYTES, all but the last exactly that, and joined they
    are the data, in order, as views (no copy)."""
    data = bytearray(random.Random(size).randbytes(size))
    parts = pieces(data)
    assert b"".join(parts) == data
    assert all(len(part) == WRITE_BYTES for part in parts[:-1])
    assert all(0 < len(part) <= WRITE_BYTES for part in parts)
    assert all(part.obj is data for part in parts)
