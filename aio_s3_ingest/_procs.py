"""Downloads shared among processes, because one event loop is held to one core.

Every request and every chunk passes through the loop's thread, so one process tops out
at one core: on many small objects, or many rate-capped streams, the client is CPU-bound
long before the network is. With ``processes=N``, N - 1 worker processes are started
from a fork server that has the library imported already (``spawn`` where there is no
fork server), each with its own S3 client and loop. The files to fetch wait in one
queue, largest first; this process and the workers take from it as they have room, so a
worker that starts late, or meets slow objects, simply takes fewer. ``max_concurrent_files``
is divided among the processes, so the requests in flight stay as configured. Workers
append to the dataset's journal as this process does; it keeps the lock and saves the
manifest. The worker side is :mod:`aio_s3_ingest._procworker`.

With ``processes="auto"`` the run decides once it knows what it fetches
(:func:`process_count`): a worker only where it pays for its start.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import anyio

from . import errors
from ._config import IngestConfig
from ._fetchall import fetch_all, largest_first
from ._local.layout import DatasetLayout
from ._local.manifest import LocalManifest
from ._log import logger
from ._models import FetchOutcome, WantedFile
from ._procworker import Connection, WorkerOutcome, WorkerSetup, worker_main
from ._progress import ignore
from ._run import Run
from ._transfer.context import TransferContext

_STOP_GRACE_SECONDS = 10.0
# A worker's batch ends once it holds this many bytes, so big files spread out.
_BATCH_BYTES = 32 * 1024 * 1024

# processes="auto". A worker starts working about a third of a second after it is asked
# for (the fork server's imports, its own client), so the run takes one process per that
# much estimated work of its event loop, if it has the cores, and files enough that each
# process gets a share rather than one big file that ends last. The loop's work: per
# file a request, a response head, a small body and the file's rename (about 0.3 ms
# here); per byte, where every byte passes the loop's core (TLS, whose threads share the
# loop's GIL, or botocore's body reads), about a nanosecond. Figures: benchmarks/README.md.
_LOOP_SECONDS_PER_FILE = 0.0003
_LOOP_SECONDS_PER_COSTLY_BYTE = 1e-9
_LOOP_SECONDS_PER_PROCESS = 0.35
_FILES_PER_PROCESS = 32
_MOST_AUTO_PROCESSES = 8


class _Queue:
    """The files not yet taken by any process, largest first."""

    def __init__(self, items: list[WantedFile]) -> None:
        self._items = collections.deque(largest_first(items))

    def take(self, count: int) -> list[WantedFile]:
        batch: list[WantedFile] = []
        size = 0
        while self._items and len(batch) < count and (not batch or size < _BATCH_BYTES):
            item = self._items.popleft()
            batch.append(item)
            size += item.obj.size
        return batch

    def __iter__(self) -> Iterator[WantedFile]:
        while self._items:
            yield self._items.popleft()


def process_count(
    config: IngestConfig,
    items: Sequence[WantedFile],
    *,
    bytes_cost_the_loop: bool,
    cores: int | None = None,
) -> int:
    """How many processes share ``items``: ``config.processes``, or for ``"auto"`` the
    estimate above (1 where a worker would not pay for its start). ``cores``: those
    this process may run on, by default all it is allowed."""
    if config.processes != "auto":
        return config.processes
    work = len(items) * _LOOP_SECONDS_PER_FILE
    if bytes_cost_the_loop:
        work += sum(item.obj.size for item in items) * _LOOP_SECONDS_PER_COSTLY_BYTE
    wanted = min(
        int(work / _LOOP_SECONDS_PER_PROCESS),
        len(items) // _FILES_PER_PROCESS,
        cores or _usable_cores(),
        _MOST_AUTO_PROCESSES,
    )
    return max(1, wanted)


def _usable_cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


async def fetch_in_processes(
    context: TransferContext,
    config: IngestConfig,
    items: list[WantedFile],
    processes: int,
) -> FetchOutcome:
    """Fetch ``items`` here and in ``processes - 1`` worker processes; return every
    landed file's record, and every failure. The workers' counters and progress go to
    ``context.run``."""
    processes = min(processes, len(items))
    # Each process's share of the files in flight; never more than an equal share of the
    # files, or this process would take every one of a few big files before a worker is up.
    limit = max(1, min(config.max_concurrent_files // processes, -(-len(items) // processes)))
    setup = WorkerSetup(
        config=replace(config, progress=False),
        limit=limit,
        environ=dict(os.environ),
        forward_events=context.run.notify is not ignore,
    )
    queue = _Queue(items)
    workers = [_Worker(setup, queue) for _ in range(processes - 1)]
    try:
        async with anyio.create_task_group() as group:
            for worker in workers:
                group.start_soon(worker.run, context.run, context.layout)
            here = await fetch_all(context, queue, limit)
    finally:
        with anyio.CancelScope(shield=True):
            for worker in workers:
                await anyio.to_thread.run_sync(worker.stop)
            # A worker killed after the grace period could not remove its temp files.
            await anyio.to_thread.run_sync(context.layout.clear_temp)
    return here.merged(*(worker.outcome for worker in workers))


class _Worker:
    """One worker process, seen from here: start it, serve its requests, collect, stop."""

    def __init__(self, setup: WorkerSetup, queue: _Queue) -> None:
        self._setup = setup
        self._queue = queue
        self._given: list[WantedFile] = []
        self._process: Any = None
        self._conn: Connection | None = None
        self.outcome = FetchOutcome()  # what it fetched and what failed, once it is done

    async def run(self, run: Run, layout: DatasetLayout) -> None:
        """Serve the process until it is done; its counters and progress go to ``run``."""
        try:
            await anyio.to_thread.run_sync(self._start)
        except Exception as exc:  # no process can be started here: this process goes on
            logger.debug("no worker process: %s", exc)
            return
        while True:
            kind, payload = await anyio.to_thread.run_sync(self._receive, abandon_on_cancel=True)
            if kind == "want":
                batch = self._queue.take(payload)
                self._given += batch
                self._send(("items", batch))
            elif kind == "events":
                for event in payload:
                    run.notify(event)
            elif kind == "done":
                self.outcome = _received(payload, run)
                return
            else:  # "failed" (it could not run) or "died"
                self.outcome = await anyio.to_thread.run_sync(self._recover, payload, layout)
                return

    def _start(self) -> None:
        start_method = _start_method()
        mine, theirs = start_method.Pipe(duplex=True)
        process = start_method.Process(
            target=worker_main, args=(self._setup, theirs), name="aio-s3-ingest worker"
        )
        process.start()
        theirs.close()
        self._process, self._conn = process, mine

    def _receive(self) -> tuple[str, Any]:
        conn, process = self._conn, self._process
        if conn is None or process is None:
            return "died", "the worker process was stopped"
        try:
            message: tuple[str, Any] = conn.recv()
        except (EOFError, OSError):
            process.join(_STOP_GRACE_SECONDS)
            return "died", f"the worker process ended (exit code {process.exitcode})"
        return message

    def _send(self, message: tuple[str, Any]) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):  # it died: the next receive says so
                self._conn.send(message)

    def _recover(self, cause: Any, layout: DatasetLayout) -> FetchOutcome:
        """A worker that died may have finished some of its files: the journal says which."""
        journaled = LocalManifest(layout.state_dir).load()
        text = cause if isinstance(cause, str) else f"{cause[0]}: {cause[1]}"
        outcome = FetchOutcome()
        for item in self._given:
            record = journaled.get(item.relpath)
            if record is not None and record.matches(item.obj):
                outcome.fetched[item.relpath] = record
            else:
                outcome.failures[item.obj.key] = errors.TransferError(item.obj.key, text)
        logger.debug("a worker failed (%s); kept what its journal holds", text)
        return outcome

    def stop(self) -> None:
        """Ask the process to stop (it removes its temp files), then make sure it did."""
        process, self._process = self._process, None
        if process is not None:
            if process.is_alive():
                process.terminate()
            process.join(_STOP_GRACE_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
            process.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def warm_up() -> None:
    """Start the fork server now (it imports the library) so that it is ready by the
    time the listing is done and workers are needed."""
    if _start_method().get_start_method() == "forkserver":
        importlib.import_module("multiprocessing.forkserver").ensure_running()


def _start_method() -> Any:
    """A fork server that imported the library once, where there is one; else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    server = getattr(importlib.import_module("multiprocessing.forkserver"), "_forkserver", None)
    # Preloading is global to the fork server: add ours only to the untouched default.
    if getattr(server, "_preload_modules", None) == ["__main__"]:
        context.set_forkserver_preload(["__main__", "aio_s3_ingest._procworker"])
    return context


def _received(outcome: WorkerOutcome, run: Run) -> FetchOutcome:
    """A finished worker's report: its counters added to ``run``, its errors rebuilt."""
    for relpath in outcome.fetched:
        logger.debug("fetched %s in a worker process", relpath)
    run.requests += outcome.requests
    run.retries += outcome.retries
    run.throttled += outcome.throttled
    run.resumed_bytes += outcome.resumed_bytes
    failures = {key: _rebuild_error(key, *why) for key, why in outcome.failures.items()}
    return FetchOutcome(dict(outcome.fetched), failures)


def _rebuild_error(key: str, kind: str, text: str) -> Exception:
    error_class = getattr(errors, kind, None)
    if isinstance(error_class, type) and issubclass(error_class, errors.TransferError):
        return error_class(key, text)
    return errors.TransferError(key, f"{kind}: {text}")
