"""One object -> one verified local file: ranged GETs pinned to an ETag, resumed, renamed.

Bytes go to a temp file in the dataset's state folder; the file is renamed to its
final path only after every range wrote exactly its length and the bytes match S3's
checksum (:mod:`.verify`). Each GET carries ``IfMatch`` with the ETag from the listing,
so a file is never stitched from two versions: a 412 restarts the whole file on the
object's new ETag. A checksum mismatch fetches the file once more, then fails it. A
large object's temp file is its partial file (:mod:`aio_s3_ingest._local.partials`):
kept when the run stops, so the next run fetches only the ranges it lacks.
"""

from __future__ import annotations

import errno
import functools
import pathlib
from collections.abc import Awaitable, Callable

import aiofiles
import anyio

from .._integrity.expected import Checksum
from .._local.partials import Partial
from .._log import logger
from .._models import FileRecord, ObjectInfo, WantedFile
from .._progress import FileFinished, FileResumed, FileStarted
from .._run import botocore_call
from .._s3.getter import ObjectChanged
from .._s3errors import s3_errors
from .._tasks import run_all
from ..errors import (
    ChecksumMismatchError,
    IngestError,
    IntegrityError,
    ObjectChangedError,
    TransferError,
)
from .context import TransferContext
from .parts import PartChecks, multipart, part_checks
from .ranges import read_range, split_ranges
from .sinks import FileSink, MemorySink, WholeFileSink
from .verify import checked, expected_checksum, verified
from .writes import finalize, store_received, store_whole

# Objects up to this size are read whole into bytes of their own, then written and renamed
# in one step (the cheapest path for small files). Objects up to a chunk are put into
# their temp file by the body off the loop (spliced on plain HTTP, written by a receive
# thread on TLS), else read whole into a buffer of the run's budget (see :mod:`.buffers`);
# larger ones stream to their temp file the same way or a buffer at a time, so memory
# stays bounded by the budget.
WHOLE_IN_MEMORY_LIMIT = 256 * 1024

RangeLanded = Callable[[int, int], Awaitable[None]]
"""Told the bounds of each range once its bytes are in the file."""


async def fetch_file(ctx: TransferContext, item: WantedFile) -> FileRecord:
    """Fetch one object to its final path and record it; restart it whole if it changes
    (up to ``max_attempts`` versions, each range of each version with its own budget)."""
    obj = item.obj
    mismatches = 0
    for _ in range(ctx.retry.max_attempts):
        try:
            return await _fetch_version(ctx, item.relpath, obj)
        except ObjectChanged:
            logger.info("%r changed while being fetched; fetching it again", obj.key)
            obj = await _head(ctx, obj.key)
        except ChecksumMismatchError as exc:
            mismatches += 1
            if mismatches > 1 or exc.part is not None:  # a part is fetched again alone
                raise
            logger.warning("%s; fetching it again", exc)
        except IngestError:
            raise  # S3AccessError is also an OSError: keep it as it is
        except OSError as exc:
            raise write_error(ctx.layout.root / item.relpath, obj.key, obj.size, exc) from exc
    raise ObjectChangedError(
        obj.key, f"it changed {ctx.retry.max_attempts} times while being fetched; giving up"
    )


def write_error(path: pathlib.Path, key: str, size: int, exc: Exception) -> IngestError:
    """What a failure to write or place a file is reported as: itself if the library
    raised it, else a :class:`TransferError` naming the path (and the space needed)."""
    if isinstance(exc, IngestError):
        return exc
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        message = f"no space left on the device for {path} (it needs {size} bytes)"
        return TransferError(key, message)
    return TransferError(key, f"cannot write {path}: {exc}")


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
    :mod:`.writes` for where it runs)."""
    sink = MemorySink(memoryview(bytearray(obj.size)))
    expected = await read_range(ctx, obj, sink, 0, obj.size)
    checksum = await verified(ctx, obj, expected, sink.data)
    return await ctx.small_writes.run(lambda: store_whole(ctx, relpath, obj, sink.data, checksum))


async def _fetch_whole(ctx: TransferContext, relpath: str, obj: ObjectInfo) -> FileRecord | None:
    """An object up to a chunk, put into its temp file by the body or received whole into one
    budgeted buffer (see :class:`.sinks.WholeFileSink`), and stored like a small file:
    one blocking step instead of the five hops of a streamed range. None if the budget
    is short of its size, as then it must be streamed."""
    with ctx.buffers.lease_for(obj.size) as lease:
        if lease.size < obj.size:
            return None
        sink = WholeFileSink(lease, ctx.layout.open_temp, ctx.small_writes)
        try:
            expected = await read_range(ctx, obj, sink, 0, obj.size)
            checksum = await _verified_whole(ctx, obj, expected, sink)
            # A worker thread's write is waited for even on cancellation: the buffer is
            # reused only once it is done.
            store = lambda: store_received(ctx, relpath, obj, sink, checksum)  # noqa: E731
            return await ctx.small_writes.run(store)
        except BaseException:
            sink.discard()
            raise


async def _verified_whole(
    ctx: TransferContext, obj: ObjectInfo, expected: Checksum | None, sink: WholeFileSink
) -> str | None:
    """Verify a whole object where the body put it: its temp file, or the buffer."""
    if sink.temp is None:
        return await verified(ctx, obj, expected, sink.data)
    await ctx.small_writes.run(sink.flush)
    return await verified(ctx, obj, expected, sink.temp)


async def _fetch_large(
    ctx: TransferContext, relpath: str, obj: ObjectInfo, ranges: list[tuple[int, int]]
) -> FileRecord:
    """Ranges streamed to their offsets in the object's partial file, verified, then
    renamed. Bytes an earlier run left there (see :mod:`aio_s3_ingest._local.partials`)
    are not fetched again; a run that stops keeps the file for the next, unless its bytes
    are of another version or failed verification. Objects under ``part_size`` start
    over each run."""
    partial = await anyio.to_thread.run_sync(_opened_partial, ctx, relpath, obj)
    try:
        if partial.done:
            logger.info("%r: resuming, %d bytes already on disk", obj.key, partial.resumed_bytes)
            ctx.notify(FileResumed(key=obj.key, nbytes=partial.resumed_bytes))
        checksum = await _fetch_verified(ctx, obj, partial, ranges)
        record = await anyio.to_thread.run_sync(finalize, ctx, partial.path, relpath, obj, checksum)
    except (ObjectChanged, IntegrityError):
        await _shielded(partial.discard)
        raise
    except BaseException:
        await _shielded(partial.keep)
        raise
    ctx.run.resumed_bytes += partial.resumed_bytes
    await anyio.to_thread.run_sync(partial.finished)
    return record


def _opened_partial(ctx: TransferContext, relpath: str, obj: ObjectInfo) -> Partial:
    """The object's partial file; where files land at once, its final path is checked
    first, so a key refused there costs no download."""
    if ctx.gate.is_open:
        ctx.layout.target(relpath, obj.key)
    return ctx.partials.open(obj)


async def _shielded(cleanup: Callable[[], None]) -> None:
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(cleanup)


async def _fetch_verified(
    ctx: TransferContext, obj: ObjectInfo, partial: Partial, ranges: list[tuple[int, int]]
) -> str | None:
    """The ranges the partial file lacks fetched, and the file checked: once whole, against
    the checksum the one GET of the whole object brought or a HEAD gave (sent beside the
    ranges, or before them for a multipart object), or part by part for a composite
    checksum (:mod:`.parts`)."""
    asked = ctx.verify != "off" and multipart(obj)
    checks, found = await part_checks(ctx, obj) if asked else (None, None)
    if checks is not None:
        return await _fetch_by_parts(ctx, obj, partial, ranges, checks)
    todo = partial.missing(ranges)
    if todo == [(0, obj.size)]:
        brought = await _fetch_range_to_file(ctx, obj, partial, *todo[0])
        return await verified(ctx, obj, brought or found, partial.path)
    expected = [found]

    async def head() -> None:
        expected[0] = await expected_checksum(ctx, obj)

    beside: list[Callable[[], Awaitable[object]]] = (
        [head] if ctx.verify != "off" and not asked else []
    )
    await _fetch_ranges(ctx, obj, partial, todo, beside)
    return await verified(ctx, obj, expected[0], partial.path)


async def _fetch_by_parts(
    ctx: TransferContext,
    obj: ObjectInfo,
    partial: Partial,
    ranges: list[tuple[int, int]],
    checks: PartChecks,
) -> str:
    """Ranges cut at the upload's parts, each part checked once on disk; the parts that
    failed are fetched again, alone, once."""
    checks.on_disk(partial.path, partial.done)
    todo = partial.missing(checks.aligned(ranges))
    await _fetch_ranges(ctx, obj, partial, todo, [checks.learn], checks.landed)
    if again := checks.bad():
        logger.warning(
            "%r: %d part(s) failed their checksum; fetching them again", obj.key, len(again)
        )
        await _fetch_ranges(ctx, obj, partial, again, [])
        await checks.recheck()
    return checked(obj, checks.expected, await checks.composite())


async def _fetch_ranges(
    ctx: TransferContext,
    obj: ObjectInfo,
    partial: Partial,
    ranges: list[tuple[int, int]],
    beside: list[Callable[[], Awaitable[object]]],
    landed: RangeLanded | None = None,
) -> None:
    """Fetch every range, with the jobs ``beside`` them; the first failure cancels the
    others and is raised (a changed object before any other)."""
    fetch = functools.partial(_fetch_range_to_file, ctx, obj, partial, landed=landed)
    jobs: list[Callable[[], Awaitable[object]]] = [*beside]
    jobs += [functools.partial(fetch, *bounds) for bounds in ranges]
    await run_all(jobs, first=ObjectChanged)


async def _fetch_range_to_file(
    ctx: TransferContext,
    obj: ObjectInfo,
    partial: Partial,
    start: int,
    end: int,
    *,
    landed: RangeLanded | None = None,
) -> Checksum | None:
    """Bytes [start, end) through their own handle, so parallel ranges share no position,
    each write journaled once it returned, then told to ``landed`` once on disk; the
    object's checksum if the GET brought it (see :func:`.ranges.read_range`)."""
    handle = await aiofiles.open(partial.path, "r+b")
    try:
        if start:
            await handle.seek(start)
        with ctx.buffers.lease_for(end - start) as lease:
            sink = FileSink(handle, lease, start, ctx.small_writes, partial.record)
            expected = await read_range(ctx, obj, sink, start, end)
    finally:
        with anyio.CancelScope(shield=True):
            await handle.close()
    if landed is not None:
        await landed(start, end)
    return expected


async def _head(ctx: TransferContext, key: str) -> ObjectInfo:
    with s3_errors(bucket=ctx.bucket, key=key), botocore_call(ctx.run):
        client = await ctx.client()
        response = await client.head_object(Bucket=ctx.bucket, Key=key)
    return ObjectInfo(
        key=key,
        size=response["ContentLength"],
        etag=response["ETag"],
        last_modified=response["LastModified"],
    )
