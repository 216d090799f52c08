"""Many files under one semaphore: the transfer loop of one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable

import anyio

from ._log import logger
from ._models import FileRecord, WantedFile
from ._transfer import TransferContext, fetch_file


async def fetch_all(
    context: TransferContext,
    items: Iterable[WantedFile] | AsyncIterable[WantedFile],
    limit: int,
    failures: dict[str, Exception],
) -> dict[str, FileRecord]:
    """Fetch ``items`` in their order, at most ``limit`` at once, taking the next item only
    when a slot is free (so a shared source is not drained ahead of time). A failure is
    collected in ``failures`` by key, not contagious. Returns the landed files' records."""
    semaphore = asyncio.Semaphore(limit)
    fetched: dict[str, FileRecord] = {}

    async def fetch_one(item: WantedFile) -> None:
        try:
            fetched[item.relpath] = await fetch_file(context, item)
        except Exception as exc:
            failures[item.obj.key] = exc
            logger.debug("%r failed: %s", item.obj.key, exc)
        finally:
            semaphore.release()

    async with anyio.create_task_group() as group:
        source = _as_async(items)
        while True:
            await semaphore.acquire()
            item = await anext(source, None)
            if item is None:
                semaphore.release()
                break
            group.start_soon(fetch_one, item)
    return fetched


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
