"""S3Ingester: the same ingester for scripts and notebooks, with a synchronous fetch_data."""

from __future__ import annotations

import asyncio
import functools
import pathlib
from concurrent.futures import ThreadPoolExecutor

import anyio

from ._ingest import AsyncS3Ingester
from ._options import IngesterOptions


class S3Ingester(IngesterOptions):
    """Synchronous face of :class:`AsyncS3Ingester`, with the same parameters.

    ``fetch_data()`` runs the async ingester on its own event loop. When the calling
    thread already runs a loop (a Jupyter cell, sync code called from async code),
    that loop cannot be re-entered, so the work runs on a worker thread instead.
    """

    def fetch_data(self, force_recompute: bool = False) -> list[pathlib.Path]:
        """Bring the dataset up to date and return the paths of its files, sorted."""
        ingester = AsyncS3Ingester._from_config(self.config)
        call = functools.partial(anyio.run, ingester.fetch_data, force_recompute, backend="asyncio")
        if not _loop_running():
            return call()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aio-s3-ingest") as pool:
            return pool.submit(call).result()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
