"""Many files under one semaphore, largest first: the transfer loop of one process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import anyio

from ._log import logger
from ._models import FileRecord, WantedFile
from ._transfer import TransferContext, fetch_file


async def fetch_all(
    context: TransferContext,
    items: Iterable[WantedFile],
    limit: int,
    failures: dict[str, Exception],
) -> dict[str, FileRecord]:
    """Fetch ``items``, at most ``limit`` at once; a failure is collected in ``failures``
    (by key), not contagious. Returns the records of the files that landed, by path."""
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
        for item in sorted(items, key=lambda w: w.obj.size, reverse=True):
            await semaphore.acquire()
            group.start_soon(fetch_one, item)
    return fetched
