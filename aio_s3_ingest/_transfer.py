"""One object -> one verified local file: ranged GETs pinned to an ETag, resumed, renamed.

Bytes go to a temp file in the dataset's state folder; the file is renamed to its
final path only after every range wrote exactly its length. Each GET carries
``IfMatch`` with the ETag from the listing, so a file is never stitched from two
versions: a 412 restarts the whole file on the object's new ETag.
"""

from __future__ import annotations

import asyncio
import errno
import os
import pathlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiofiles
import anyio
import botocore.exceptions as bce

from ._buffers import BufferBudget
from ._getter import Body, FileBody, Getter, ObjectChanged
from ._layout import DatasetLayout
from ._log import logger
from ._manifest import LocalManifest
from ._models import FileRecord, ObjectInfo, WantedFile
from ._progress import (
    BytesReceived,
    FileFinished,
    FileStarted,
    ProgressCallback,
    RetryScheduled,
)
from ._ranges import ranges_in_flight, split_ranges
from ._retry import backoff, describe
from ._s3errors import s3_errors
from ._sinks import FileSink, MemorySink, Sink, WholeFileSink
from ._tally import current
from ._writes import SmallWrites
from .errors import IngestError, IntegrityError, ObjectChangedError, TransferError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from ._config import IngestConfig

# A body that breaks mid-stream is resumed from the offset reached, not restarted.
_RESUMABLE = (
    bce.ResponseStreamingError,
    bce.IncompleteReadError,
    bce.ReadTimeoutError,
    ConnectionError,  # includes HttpError, which aiohttp's errors in bodies become
    asyncio.TimeoutError,
)


# Objects up to this size are read whole into bytes of their own, then written and renamed
# in one step (the cheapest path for small files). Objects up to a chunk are spliced into
# their temp file on plain HTTP, else read whole into a buffer of the run's budget (see
# :mod:`._buffers`); larger ones stream to their temp file a buffer at a time (or
# spliced), so memory stays bounded by the budget.
WHOLE_IN_MEMORY_LIMIT = 256 * 1024


# Sinks a body may be spliced into, where it can be.
_SPLICING = (FileSink, WholeFileSink)


class _ShortBody(Exception):
    """The body ended before the bytes announced for the range."""


@dataclass(slots=True)
class _Cursor:
    """How far a range has been written; survives a broken body for the resume."""

    offset: int


@dataclass(frozen=True, slots=True)
class TransferContext:
    """What every file of one run shares."""

    client: Callable[[], Awaitable[S3Client]]  # opens aiobotocore on first use
    getter: Getter
    bucket: str
    layout: DatasetLayout
    manifest: LocalManifest
    workers_per_file: int
    part_size: int
    chunk_size: int
    max_attempts: int
    notify: ProgressCallback
    small_writes: SmallWrites
    buffers: BufferBudget

    @classmethod
    def for_run(
        cls,
        config: IngestConfig,
        client: Callable[[], Awaitable[S3Client]],
        getter: Getter,
        layout: DatasetLayout,
        manifest: LocalManifest,
        notify: ProgressCallback,
        *,
        sizes: Sequence[int] = (),
    ) -> TransferContext:
        """The context of one run (or one worker's share of it) from its configuration;
        ``sizes``, the objects it will fetch if known, let the buffers be shared fairly."""
        return cls(
            client=client,
            getter=getter,
            bucket=config.s3_bucket_name,
            layout=layout,
            manifest=manifest,
            workers_per_file=config.workers_per_file,
            part_size=config.part_size,
            chunk_size=config.chunk_size,
            max_attempts=config.max_attempts,
            notify=notify,
            small_writes=SmallWrites(),
            buffers=BufferBudget(
                config.chunk_size,
                ranges_per_file=config.workers_per_file,
                most_ranges=config.max_requests,
                in_flight=ranges_in_flight(config, sizes),
            ),
        )


async def fetch_file(ctx: TransferContext, item: WantedFile) -> FileRecord:
    """Fetch one object to its final path and record it; restart it whole if it changes."""
    obj = item.obj
    for _ in range(ctx.max_attempts):
        try:
            return await _fetch_version(ctx, item.relpath, obj)
        except ObjectChanged:
            logger.info("%r changed while being fetched; fetching it again", obj.key)
            obj = await _head(ctx, obj.key)
        except IngestError:
            raise  # S3AccessError is also an OSError: keep it as it is
        except OSError as exc:
            path = ctx.layout.root / item.relpath
            if exc.errno == errno.ENOSPC:
                message = f"no space left on the device for {path} (it needs {obj.size} bytes)"
                raise TransferError(obj.key, message) from exc
            raise TransferError(obj.key, f"cannot write {path}: {exc}") from exc
    raise ObjectChangedError(
        obj.key, f"it changed {ctx.max_attempts} times while being fetched; giving up"
    )


async def _fetch_version(ctx: TransferContext, relpath: str, obj: ObjectInfo) -> FileRecord:
    ctx.notify(FileStarted(key=obj.key, size=obj.size))
    ranges = split_ranges(obj.size, ctx.workers_per_file, ctx.part_size)
    record = None
    if len(ranges) == 1 and obj.size <= min(ctx.chunk_size, WHOLE_IN_MEMORY_LIMIT):
        record = await _fetch_small(ctx, relpath, obj)
    elif len(ranges) == 1 and obj.size <= ctx.chunk_size:
        record = await _fetch_whole(ctx, relpath, obj)
    if record is None:
        record = await _fetch_large(ctx, relpath, obj, ranges)
    ctx.notify(FileFinished(key=obj.key, size=obj.size))
    return record


async def _fetch_small(ctx: TransferContext, relpath: str, obj: ObjectInfo) -> FileRecord:
    """One GET into memory, then one blocking step writes and renames it (see
    :mod:`._writes` for where it runs)."""
    sink = MemorySink(memoryview(bytearray(obj.size)))
    await _read_range(ctx, obj, sink, 0, obj.size)
    return await ctx.small_writes.run(lambda: _store_whole(ctx, relpath, obj, sink.data))


async def _fetch_whole(ctx: TransferContext, relpath: str, obj: ObjectInfo) -> FileRecord | None:
    """An object up to a chunk, spliced into its temp file or received whole into one
    budgeted buffer (see :class:`._sinks.WholeFileSink`), and stored like a small file:
    one blocking step instead of the five hops of a streamed range. None if the budget
    is short of its size, as then it must be streamed."""
    with ctx.buffers.lease_for(obj.size) as lease:
        if lease.size < obj.size:
            return None
        sink = WholeFileSink(lease, lambda: ctx.small_writes.run(ctx.layout.open_temp))
        try:
            await _read_range(ctx, obj, sink, 0, obj.size)
            # A worker thread's write is waited for even on cancellation: the buffer is
            # reused only once it is done.
            return await ctx.small_writes.run(lambda: _store_received(ctx, relpath, obj, sink))
        except BaseException:
            sink.discard()
            raise


async def _fetch_large(
    ctx: TransferContext, relpath: str, obj: ObjectInfo, ranges: list[tuple[int, int]]
) -> FileRecord:
    """Ranges streamed to their offsets in a pre-sized temp file, then renamed."""
    final, temp = await anyio.to_thread.run_sync(
        lambda: (ctx.layout.target(relpath, obj.key), ctx.layout.new_temp(obj.size))
    )
    try:
        await _fetch_ranges(ctx, obj, temp, ranges)
        return await anyio.to_thread.run_sync(_finalize, ctx, temp, final, relpath, obj)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: temp.unlink(missing_ok=True))
        raise


async def _fetch_ranges(
    ctx: TransferContext, obj: ObjectInfo, temp: pathlib.Path, ranges: list[tuple[int, int]]
) -> None:
    """Fetch every range; the first failure cancels the others and is raised."""
    if len(ranges) == 1:
        await _fetch_range_to_file(ctx, obj, temp, *ranges[0])
        return
    errors: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def run(start: int, end: int) -> None:
            try:
                await _fetch_range_to_file(ctx, obj, temp, start, end)
            except Exception as exc:
                errors.append(exc)
                group.cancel_scope.cancel()

        for start, end in ranges:
            group.start_soon(run, start, end)
    if errors:
        changed = [exc for exc in errors if isinstance(exc, ObjectChanged)]
        raise (changed or errors)[0]


async def _fetch_range_to_file(
    ctx: TransferContext, obj: ObjectInfo, temp: pathlib.Path, start: int, end: int
) -> None:
    """Bytes [start, end) through their own handle, so parallel ranges share no position."""
    handle = await aiofiles.open(temp, "r+b")
    try:
        if start:
            await handle.seek(start)
        with ctx.buffers.lease_for(end - start) as lease:
            await _read_range(ctx, obj, FileSink(handle, lease, start), start, end)
    finally:
        with anyio.CancelScope(shield=True):
            await handle.close()


async def _read_range(
    ctx: TransferContext, obj: ObjectInfo, sink: Sink, start: int, end: int
) -> None:
    """Bytes [start, end) into ``sink`` in order, resuming a broken body where it stopped.

    Returns only once exactly ``end - start`` bytes were written: that count, not
    the size of a pre-sized file, is what verifies a download.
    """
    cursor = _Cursor(start)
    failures = 0
    while cursor.offset < end:
        try:
            await _stream(ctx, obj, sink, cursor, end)
        except IngestError:
            raise  # the getter's verdict after its retries (EndpointError is a ConnectionError)
        except (*_RESUMABLE, _ShortBody) as exc:
            failures += 1
            if failures >= ctx.max_attempts:
                raise TransferError(
                    obj.key, f"the body broke {failures} times; last: {describe(exc)}"
                ) from exc
            logger.debug("%r: body broke at byte %d (%s); resuming", obj.key, cursor.offset, exc)
            current().retries += 1
            ctx.notify(RetryScheduled(key=obj.key, attempt=failures, cause=describe(exc)))
            await backoff(failures)


async def _stream(
    ctx: TransferContext, obj: ObjectInfo, sink: Sink, cursor: _Cursor, end: int
) -> None:
    """One ranged GET pinned to the listed ETag, its body written chunk by chunk."""
    body = await ctx.getter.open(obj, cursor.offset, end)
    try:
        expected = end - cursor.offset
        if body.content_length != expected:
            raise IntegrityError(
                obj.key, f"asked for {expected} bytes, S3 announced {body.content_length}"
            )
        while cursor.offset < end:
            size = min(ctx.chunk_size, end - cursor.offset)
            if isinstance(sink, _SPLICING) and isinstance(body, FileBody) and body.can_splice(size):
                await _commit_spliced(ctx, obj, cursor, await sink.splice(body, size))
            else:
                await _fill(ctx, obj, body, sink, cursor, size)
    finally:
        body.close()


async def _fill(
    ctx: TransferContext, obj: ObjectInfo, body: Body, sink: Sink, cursor: _Cursor, size: int
) -> None:
    """Fill the sink's space (up to ``size`` bytes) and commit it; if the body breaks,
    commit what did arrive first, so the resume asks only for the rest."""
    space = sink.space(size)
    size = len(space)
    filled = 0
    try:
        while filled < size:
            count = await body.readinto(space[filled:])
            if not count:
                raise _ShortBody(f"body ended {size - filled} bytes before the range's end")
            filled += count
    except (*_RESUMABLE, _ShortBody):
        if filled:
            await _commit(ctx, obj, sink, cursor, filled)
        raise
    await _commit(ctx, obj, sink, cursor, filled)


async def _commit_spliced(
    ctx: TransferContext, obj: ObjectInfo, cursor: _Cursor, size: int
) -> None:
    cursor.offset += size
    ctx.notify(BytesReceived(key=obj.key, nbytes=size))


async def _commit(
    ctx: TransferContext, obj: ObjectInfo, sink: Sink, cursor: _Cursor, size: int
) -> None:
    await sink.commit(size)
    cursor.offset += size
    ctx.notify(BytesReceived(key=obj.key, nbytes=size))


def _store_whole(
    ctx: TransferContext, relpath: str, obj: ObjectInfo, data: memoryview
) -> FileRecord:
    """Write a whole file's bytes to a temp file and move it into place, in one step."""
    final = ctx.layout.target(relpath, obj.key)
    temp = ctx.layout.new_temp(len(data), data=data)
    try:
        return _finalize(ctx, temp, final, relpath, obj)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _store_received(
    ctx: TransferContext, relpath: str, obj: ObjectInfo, sink: WholeFileSink
) -> FileRecord:
    if not sink.spliced:
        return _store_whole(ctx, relpath, obj, sink.data)
    sink.flush()
    sink.close()
    assert sink.temp is not None
    return _finalize(ctx, sink.temp, ctx.layout.target(relpath, obj.key), relpath, obj)


def _finalize(
    ctx: TransferContext, temp: pathlib.Path, final: pathlib.Path, relpath: str, obj: ObjectInfo
) -> FileRecord:
    """Give the file S3's LastModified as mtime, move it into place, and journal it."""
    written = os.stat(temp).st_size
    if written != obj.size:
        raise IntegrityError(obj.key, f"temp file holds {written} bytes, expected {obj.size}")
    mtime_ns = int(obj.last_modified.timestamp() * 1_000_000_000)
    os.utime(temp, ns=(time.time_ns(), mtime_ns))
    os.replace(temp, final)
    st = os.stat(final)
    record = FileRecord(
        key=obj.key,
        size=st.st_size,
        etag=obj.etag,
        last_modified=obj.last_modified.isoformat(),
        mtime_ns=st.st_mtime_ns,
    )
    ctx.manifest.record(relpath, record)
    return record


async def _head(ctx: TransferContext, key: str) -> ObjectInfo:
    with s3_errors(bucket=ctx.bucket, key=key):
        client = await ctx.client()
        response = await client.head_object(Bucket=ctx.bucket, Key=key)
    return ObjectInfo(
        key=key,
        size=response["ContentLength"],
        etag=response["ETag"],
        last_modified=response["LastModified"],
    )
