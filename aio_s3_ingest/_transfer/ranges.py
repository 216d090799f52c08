"""Byte ranges: how an object is split, how many ranges a run has in flight, and how one
range is read into its sink, resumed from the byte reached when its body breaks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._integrity.expected import Checksum
from .._log import logger
from .._models import ObjectInfo
from .._progress import BytesReceived, RetryScheduled
from .._retry import BROKEN_BODY, Attempts, describe
from .._s3.getter import Body
from ..errors import IngestError, IntegrityError, TransferError
from .sinks import Sink
from .verify import expected_in

if TYPE_CHECKING:
    from .._config import IngestConfig
    from .context import TransferContext


class _ShortBody(Exception):
    """The body ended before the bytes announced for the range."""


@dataclass(slots=True)
class _Cursor:
    """How far a range has been written, and the attempts it has used; survives a broken
    body for the resume."""

    offset: int
    attempts: Attempts
    checksum: Checksum | None = None  # S3's, from the GET of a whole object


def ranges_in_flight(config: IngestConfig, sizes: Sequence[int]) -> int | None:
    """The most ranges the objects of ``sizes`` can have in flight at once (None if
    unknown): those of the ``max_concurrent_files`` objects split into the most ranges."""
    if not sizes:
        return None
    counts = sorted(
        (len(split_ranges(size, config.workers_per_file, config.part_size)) for size in sizes),
        reverse=True,
    )
    return sum(counts[: config.max_concurrent_files])


def split_ranges(size: int, workers: int, part_size: int) -> list[tuple[int, int]]:
    """Up to ``workers`` contiguous [start, end) ranges of equal length (the last may be
    shorter), that length never below ``part_size``: small objects stay one range."""
    parts = max(1, min(workers, size // part_size))
    step = max(1, math.ceil(size / parts))
    return [(start, min(start + step, size)) for start in range(0, size, step)] or [(0, 0)]


async def read_range(
    ctx: TransferContext, obj: ObjectInfo, sink: Sink, start: int, end: int
) -> Checksum | None:
    """Bytes [start, end) into ``sink`` in order, resuming a broken body where it stopped;
    returns the object's checksum if S3 sent it (on the GET of a whole object).

    The range has one budget of attempts (:class:`aio_s3_ingest._retry.Attempts`): the
    getter's retries and the resumes here draw from it alike. Returns only once exactly
    ``end - start`` bytes were written.
    """
    cursor = _Cursor(start, ctx.retry.attempts(ctx.run))
    breaks = 0
    while cursor.offset < end:
        try:
            await _stream(ctx, obj, sink, cursor, end)
        except IngestError:
            raise  # the getter's verdict after its retries (EndpointError is a ConnectionError)
        except (*BROKEN_BODY, _ShortBody) as exc:  # resumed from the byte reached
            breaks += 1
            if not cursor.attempts.left:
                raise TransferError(obj.key, _gave_up(breaks, cursor.attempts, exc)) from exc
            logger.debug("%r: body broke at byte %d (%s); resuming", obj.key, cursor.offset, exc)
            ctx.notify(RetryScheduled(key=obj.key, attempt=breaks, cause=describe(exc)))
            await cursor.attempts.backoff()
    return cursor.checksum


def _gave_up(breaks: int, attempts: Attempts, exc: BaseException) -> str:
    times = "once" if breaks == 1 else f"{breaks} times"
    return f"the body broke {times} in {attempts.used} attempt(s); last: {describe(exc)}"


async def _stream(
    ctx: TransferContext, obj: ObjectInfo, sink: Sink, cursor: _Cursor, end: int
) -> None:
    """One ranged GET pinned to the listed ETag, its body copied into the sink chunk by
    chunk (the body decides how: see :mod:`aio_s3_ingest._http.body`)."""
    body = await ctx.getter.open(obj, cursor.offset, end, cursor.attempts)
    try:
        expected = end - cursor.offset
        if body.content_length != expected:
            raise IntegrityError(
                obj.key, f"asked for {expected} bytes, S3 announced {body.content_length}"
            )
        if cursor.offset == 0 and cursor.checksum is None:
            cursor.checksum = expected_in(ctx, obj, body.headers)
        while cursor.offset < end:
            size = min(ctx.chunk_size, end - cursor.offset)
            if not await _copy(ctx, obj, body, sink, cursor, size):
                raise _ShortBody(f"body ended {end - cursor.offset} bytes before the range's end")
    finally:
        body.close()


async def _copy(
    ctx: TransferContext, obj: ObjectInfo, body: Body, sink: Sink, cursor: _Cursor, size: int
) -> int:
    """Up to ``size`` bytes of ``body`` into ``sink``; the cursor moves by what the sink
    took, also when the body broke part way, so a resume asks only for the rest."""
    taken = sink.received
    try:
        return await body.copy_into(sink, size)
    finally:
        if moved := sink.received - taken:
            cursor.offset += moved
            ctx.notify(BytesReceived(key=obj.key, nbytes=moved))
