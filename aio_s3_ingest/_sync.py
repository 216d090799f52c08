"""S3Ingester: the same ingester for scripts and notebooks, with a synchronous fetch_data."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar, cast

import anyio

from ._config import IngesterOptions
from ._ingest import AsyncS3Ingester
from ._report import IngestReport
from ._stream import DatasetFile

_T = TypeVar("_T")


class S3Ingester(IngesterOptions):
    """Synchronous face of :class:`AsyncS3Ingester`, with the same parameters.

    ``fetch_data()`` runs the async ingester on its own event loop. When the calling
    thread already runs a loop (a Jupyter cell, sync code called from async code),
    that loop cannot be re-entered, so the work runs on a worker thread instead.
    """

    def fetch_data(
        self, force_recompute: bool = False, *, verify_local: bool = False
    ) -> list[pathlib.Path]:
        """Bring the dataset up to date and return the paths of its files, sorted (see
        :meth:`AsyncS3Ingester.fetch_data`)."""
        return self.sync(force_recompute, verify_local=verify_local).paths

    def sync(self, force_recompute: bool = False, *, verify_local: bool = False) -> IngestReport:
        """Like :meth:`fetch_data`, but return the run's :class:`IngestReport`."""
        ingester = AsyncS3Ingester._from_config(self.config)
        return _run(lambda: ingester.sync(force_recompute, verify_local=verify_local))

    def iter_fetch(
        self, force_recompute: bool = False, *, verify_local: bool = False, ordered: bool = False
    ) -> Iterator[DatasetFile]:
        """The dataset's files as they land, as a plain iterator (see
        :meth:`AsyncS3Ingester.iter_fetch`); leaving the loop early cancels the rest."""
        ingester = AsyncS3Ingester._from_config(self.config)
        return _iterate(
            ingester.iter_fetch(force_recompute, verify_local=verify_local, ordered=ordered)
        )

    def plan(self, force_recompute: bool = False, *, verify_local: bool = False) -> IngestReport:
        """A dry run: what :meth:`sync` would fetch, keep and delete; nothing is written."""
        ingester = AsyncS3Ingester._from_config(self.config)
        return _run(lambda: ingester.plan(force_recompute, verify_local=verify_local))


def _iterate(files: AsyncGenerator[_T, None]) -> Iterator[_T]:
    """The items of ``files``, read on a loop of their own on a worker thread (so this works
    in a thread that runs a loop too); closing this iterator closes ``files`` there."""
    with anyio.from_thread.start_blocking_portal(backend="asyncio") as portal:
        try:
            while (item := portal.call(_next_or_end, files)) is not _END:
                yield cast(_T, item)
        finally:
            portal.call(files.aclose)


_END = object()


async def _next_or_end(files: AsyncGenerator[_T, None]) -> _T | object:
    try:
        return await anext(files)
    except StopAsyncIteration:
        return _END


def _run(call: Callable[[], Awaitable[_T]]) -> _T:
    if not _loop_running():
        return _run_here(call)
    return _run_on_worker_thread(call)


def _run_here(call: Callable[[], Awaitable[_T]]) -> _T:
    try:
        return anyio.run(call, backend="asyncio")
    except asyncio.CancelledError:
        # Python 3.10: a run cancelled by Ctrl-C ends in CancelledError (3.11+ raises
        # KeyboardInterrupt); in sync code nothing else can cancel it.
        raise KeyboardInterrupt from None


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_on_worker_thread(call: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``call`` on a fresh loop in a worker; Ctrl-C here cancels it there, cleanly."""
    job = _CancellableJob(call)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aio-s3-ingest") as pool:
        future = pool.submit(lambda: anyio.run(job.run, backend="asyncio"))
        try:
            return future.result()
        except BaseException:
            job.cancel()  # e.g. KeyboardInterrupt while waiting: stop the worker's run too
            raise


class _CancellableJob(Generic[_T]):
    def __init__(self, call: Callable[[], Awaitable[_T]]) -> None:
        self._call = call
        self._scope: anyio.CancelScope | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    async def run(self) -> _T:
        with anyio.CancelScope() as scope:
            with self._lock:
                self._scope, self._loop = scope, asyncio.get_running_loop()
            return await self._call()
        raise KeyboardInterrupt  # cancelled from the waiting thread

    def cancel(self) -> None:
        with self._lock:
            scope, loop = self._scope, self._loop
        if scope is not None and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have closed already
                loop.call_soon_threadsafe(scope.cancel)
