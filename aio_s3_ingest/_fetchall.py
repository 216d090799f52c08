"""Many files under one semaphore: the transfer loop of one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable

import anyio

from ._log import logger
from ._models import FetchOutcome, FileRecord, WantedFile
from ._transfer.context import TransferContext
from ._transfer.fetch import fetch_file

FileLanded = Callable[[WantedFile, FileRecord | None], None]
"""Told each file once it is in place (with its record) or has failed (None)."""


async def fetch_all(
    context: TransferContext,
    items: Iterable[WantedFile] | AsyncIterable[WantedFile],
    limit: int,
    landed: FileLanded | None = None,
) -> FetchOutcome:
    """Fetch ``items`` in their order, at most ``limit`` at once, taking the next item only
    when a slot is free (so a shared source is not drained ahead of time). A failure is
    collected by key, not contagious. Returns the landed files' records and the failures;
    ``landed`` hears of each file as it ends.

    One plain asyncio task per file: an anyio task group takes several times as much of
    the loop's time to spawn one, which adds up over many small files (figures:
    benchmarks/README.md, "Design figures behind the code").
    If this is cancelled, the files in flight are cancelled and waited for, so their
    temp files are gone before it returns.
    """
    semaphore = asyncio.Semaphore(limit)
    outcome = FetchOutcome()
    running: set[asyncio.Task[None]] = set()
    try:
        source = _as_async(items)
        while True:
            await semaphore.acquire()
            item = await anext(source, None)
            if item is None:
                semaphore.release()
                break
            task = asyncio.create_task(_fetch_one(context, item, outcome, semaphore, landed))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:  # no task is added from here on
            await asyncio.wait(set(running))
    finally:
        if running:
            for task in running:
                task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait(set(running))
    return outcome


async def _fetch_one(
    context: TransferContext,
    item: WantedFile,
    outcome: FetchOutcome,
    semaphore: asyncio.Semaphore,
    landed: FileLanded | None,
) -> None:
    """One file into ``outcome``, fetched or failed; its slot is free again after."""
    record = None
    try:
        logger.debug("fetching %r (%d bytes)", item.obj.key, item.obj.size)
        record = outcome.fetched[item.relpath] = await fetch_file(context, item)
        logger.debug("fetched %r into %s", item.obj.key, item.relpath)
    except Exception as exc:
        outcome.failures[item.obj.key] = exc
        logger.debug("%r failed: %s", item.obj.key, exc)
    finally:
        semaphore.release()
    if landed is not None:
        landed(item, record)


async def _as_async(
    items: Iterable[WantedFile] | AsyncIterable[WantedFile],
) -> AsyncIterator[WantedFile]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


def largest_first(items: Iterable[WantedFile]) -> list[WantedFile]:
    """Big files first, so the last minutes of a run are not one big file alone."""
    return sorted(items, key=lambda w: w.obj.size, reverse=True)
