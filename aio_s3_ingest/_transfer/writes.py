"""Where finished files are written and moved into place, and where small files are
written: on the event loop's thread, while that stays quick.

Handing a small file to a worker thread costs more CPU than writing it, for no gain in
wall time (figures: benchmarks/README.md, "Design figures behind the code"). So a small
file is written where its bytes already are, and each write is timed. A moving average,
not single writes, decides: a local journaling filesystem stalls a write for a few
milliseconds now and then, which is harmless, while a network filesystem or a saturated
disk is slow on every write. When the average turns slow, writes go to worker
threads, so the loop is never held for long; when it is quick again, they come back.
"""

from __future__ import annotations

import functools
import os
import pathlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import anyio

from .._log import logger
from .._models import FileRecord, ObjectInfo
from ..errors import IntegrityError

if TYPE_CHECKING:
    from .context import TransferContext
    from .sinks import WholeFileSink

_T = TypeVar("_T")

# Above this average a write moves to worker threads; below a quarter of it, back.
SLOW_WRITE_SECONDS = 0.002
# Weight of the newest write in the average: a lone stall moves it an eighth of the way.
_WEIGHT = 1 / 8


class SmallWrites:
    """Runs one small file's blocking write, inline or on a worker thread."""

    def __init__(self) -> None:
        self.inline = True
        self.average_seconds = 0.0

    async def run(self, write: Callable[[], _T]) -> _T:
        if self.inline:
            started = time.perf_counter()
            try:
                return write()
            finally:
                self._note(time.perf_counter() - started)
        result, took = await anyio.to_thread.run_sync(_timed, write)
        self._note(took)
        return result

    def _note(self, seconds: float) -> None:
        self.average_seconds += (seconds - self.average_seconds) * _WEIGHT
        if self.inline and self.average_seconds > SLOW_WRITE_SECONDS:
            self.inline = False
            logger.debug(
                "small-file writes average %.1f ms: using worker threads",
                self.average_seconds * 1000,
            )
        elif not self.inline and self.average_seconds < SLOW_WRITE_SECONDS / 4:
            self.inline = True
            logger.debug("small-file writes are quick again: writing on the loop's thread")


def _timed(write: Callable[[], _T]) -> tuple[_T, float]:
    started = time.perf_counter()
    result = write()
    return result, time.perf_counter() - started


def store_whole(
    ctx: TransferContext, relpath: str, obj: ObjectInfo, data: memoryview, checksum: str | None
) -> FileRecord:
    """Write a whole file's bytes to a temp file and move it into place, in one step."""
    temp = ctx.layout.new_temp(len(data), data=data)
    try:
        return finalize(ctx, temp, relpath, obj, checksum)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def store_received(
    ctx: TransferContext, relpath: str, obj: ObjectInfo, sink: WholeFileSink, checksum: str | None
) -> FileRecord:
    if not sink.landed_any:
        return store_whole(ctx, relpath, obj, sink.data, checksum)
    sink.flush()
    sink.close()
    assert sink.temp is not None
    return finalize(ctx, sink.temp, relpath, obj, checksum)


def finalize(
    ctx: TransferContext,
    temp: pathlib.Path,
    relpath: str,
    obj: ObjectInfo,
    checksum: str | None,
) -> FileRecord:
    """Give the file S3's LastModified as mtime and make its record (with the checksum it
    was verified against), then land it through the run's gate (:mod:`.landing_gate`)."""
    os.utime(temp, ns=(time.time_ns(), int(obj.last_modified.timestamp() * 1_000_000_000)))
    st = os.stat(temp)
    if st.st_size != obj.size:
        raise IntegrityError(obj.key, f"temp file holds {st.st_size} bytes, expected {obj.size}")
    record = FileRecord(
        key=obj.key,
        size=st.st_size,
        etag=obj.etag,
        last_modified=obj.last_modified.isoformat(),
        mtime_ns=st.st_mtime_ns,
        checksum=checksum,
    )
    ctx.gate.land(temp, relpath, record, functools.partial(land, ctx))
    return record


def land(ctx: TransferContext, temp: pathlib.Path, relpath: str, record: FileRecord) -> None:
    """Move a finished temp file to its final path (its folders made, refused if they
    lead out of the dataset) and journal it."""
    os.replace(temp, ctx.layout.target(relpath, record.key))
    ctx.manifest.record(relpath, record)
