"""Downloads shared among processes, because one event loop is held to one core.

Every request and every chunk passes through the loop's thread, so one process tops out
at one core: on many small objects, or many rate-capped streams, the client is CPU-bound
long before the network is. With ``processes=N`` the files to fetch are dealt into N
shares of about equal bytes. This process fetches the first share; N - 1 worker
processes, started from a fork server that has the library imported already, fetch the
others, each with its own S3 client and loop. ``max_concurrent_files`` is divided among
them, so the requests in flight stay as configured. Workers append to the dataset's
journal like this process does; it keeps the lock and saves the manifest.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from . import errors
from ._client import open_s3
from ._config import IngestConfig
from ._fetchall import fetch_all
from ._layout import DatasetLayout
from ._log import logger
from ._manifest import LocalManifest
from ._models import FileRecord, WantedFile
from ._progress import ProgressEvent, ignore
from ._tally import RunTally, counting
from ._transfer import TransferContext

_EVENTS_PER_MESSAGE = 256
_EVENT_INTERVAL_SECONDS = 0.05
_STOP_GRACE_SECONDS = 10.0


def deal(items: list[WantedFile], shares: int) -> list[list[WantedFile]]:
    """Split ``items`` into ``shares`` lists of about equal bytes (then equal counts)."""
    dealt: list[list[WantedFile]] = [[] for _ in range(shares)]
    loads = [(0, 0, index) for index in range(shares)]
    for item in sorted(items, key=lambda w: (-w.obj.size, w.relpath)):
        size, count, index = min(loads)
        dealt[index].append(item)
        loads[index] = (size + item.obj.size, count + 1, index)
    return [share for share in dealt if share]


@dataclass(frozen=True)
class _Share:
    """What one worker process is given."""

    config: IngestConfig
    items: list[WantedFile]
    limit: int
    environ: dict[str, str]
    forward_events: bool


@dataclass
class _Outcome:
    """What a worker reports when its share is done."""

    fetched: dict[str, FileRecord] = field(default_factory=dict)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)  # key: (class, text)
    requests: int = 0
    retries: int = 0
    throttled: int = 0


async def fetch_in_processes(
    context: TransferContext,
    config: IngestConfig,
    items: list[WantedFile],
    failures: dict[str, Exception],
    tally: RunTally,
) -> dict[str, FileRecord]:
    """Fetch ``items`` here and in worker processes; return every landed file's record."""
    shares = deal(items, min(config.processes, len(items)))
    limit = max(1, config.max_concurrent_files // len(shares))
    worker_config = replace(config, progress=False)
    environ = dict(os.environ)
    fetched: dict[str, FileRecord] = {}
    workers = [
        _Worker(_Share(worker_config, share, limit, environ, tally.notify is not ignore))
        for share in shares[1:]
    ]
    try:
        async with anyio.create_task_group() as group:
            for worker in workers:
                group.start_soon(worker.run, tally, fetched, failures, context.layout)
            fetched.update(await fetch_all(context, shares[0], limit, failures))
    finally:
        with anyio.CancelScope(shield=True):
            for worker in workers:
                await anyio.to_thread.run_sync(worker.stop)
            # A worker killed after the grace period could not remove its temp files.
            await anyio.to_thread.run_sync(context.layout.clear_temp)
    return fetched


class _Worker:
    """One worker process, seen from this one: start, relay its events, collect, stop."""

    def __init__(self, share: _Share) -> None:
        self.share = share
        self._process: Any = None
        self._conn: multiprocessing.connection.Connection | None = None

    async def run(
        self,
        tally: RunTally,
        fetched: dict[str, FileRecord],
        failures: dict[str, Exception],
        layout: DatasetLayout,
    ) -> None:
        try:
            await anyio.to_thread.run_sync(self._start)
        except Exception as exc:  # e.g. no way to start a process here: fail its files
            cause = f"the worker process could not start: {exc}"
            await anyio.to_thread.run_sync(self._recover, cause, fetched, failures, layout)
            return
        while True:
            kind, payload = await anyio.to_thread.run_sync(self._receive, abandon_on_cancel=True)
            if kind == "events":
                for event in payload:
                    tally.notify(event)
            elif kind == "done":
                self._merge(payload, tally, fetched, failures)
                return
            else:  # "failed" (before it could start) or "died"
                await anyio.to_thread.run_sync(self._recover, payload, fetched, failures, layout)
                return

    def _start(self) -> None:
        start_method = _start_method()
        receiver, sender = start_method.Pipe(duplex=False)
        process = start_method.Process(
            target=worker_main, args=(self.share, sender), name="aio-s3-ingest worker"
        )
        process.start()
        sender.close()
        self._process, self._conn = process, receiver

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

    def _merge(
        self,
        outcome: _Outcome,
        tally: RunTally,
        fetched: dict[str, FileRecord],
        failures: dict[str, Exception],
    ) -> None:
        fetched.update(outcome.fetched)
        for key, (kind, text) in outcome.failures.items():
            failures[key] = _rebuild_error(key, kind, text)
        tally.requests += outcome.requests
        tally.retries += outcome.retries
        tally.throttled += outcome.throttled

    def _recover(
        self,
        cause: Any,
        fetched: dict[str, FileRecord],
        failures: dict[str, Exception],
        layout: DatasetLayout,
    ) -> None:
        """A worker that died may have finished some files: the journal says which."""
        journaled = LocalManifest(layout.state_dir).load()
        text = cause if isinstance(cause, str) else f"{cause[0]}: {cause[1]}"
        for item in self.share.items:
            record = journaled.get(item.relpath)
            if record is not None and record.matches(item.obj):
                fetched[item.relpath] = record
            else:
                failures[item.obj.key] = errors.TransferError(item.obj.key, text)
        logger.debug("worker failed (%s); recovered what its journal holds", text)

    def stop(self) -> None:
        """Ask the process to stop (it cleans up its temp files), then make sure it did."""
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


def worker_main(share: _Share, conn: multiprocessing.connection.Connection) -> None:
    """Entry point of a worker process: fetch the share, send back the outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the
    os.environ.clear()  # parent decides. Credentials and settings as the parent sees them:
    os.environ.update(share.environ)  # the fork server's environment may be older.
    try:
        outcome = anyio.run(_fetch_share, share, conn, backend="asyncio")
        message: tuple[str, Any] = ("done", outcome)
    except BaseException as exc:
        message = ("failed", (type(exc).__name__, str(exc)))
    with contextlib.suppress(OSError):
        conn.send(message)
    conn.close()


async def _fetch_share(share: _Share, conn: multiprocessing.connection.Connection) -> _Outcome:
    task = asyncio.current_task()
    if task is not None:  # SIGTERM from the parent: stop as a cancelled run does
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    forward = _Forwarder(conn) if share.forward_events else ignore
    failures: dict[str, Exception] = {}
    async with contextlib.AsyncExitStack() as stack:
        s3 = await open_s3(share.config, stack)
        layout = DatasetLayout(share.config.dataset_directory)
        layout.create()
        manifest = LocalManifest(layout.state_dir)
        manifest.open_journal()
        stack.callback(manifest.close_journal)
        with counting(forward) as tally:
            context = TransferContext.for_run(
                share.config, s3.client, s3.getter, layout, manifest, forward
            )
            fetched = await fetch_all(context, share.items, share.limit, failures)
    if isinstance(forward, _Forwarder):
        forward.flush()
    return _Outcome(
        fetched=fetched,
        failures={key: _describe(key, exc) for key, exc in failures.items()},
        requests=tally.requests,
        retries=tally.retries,
        throttled=tally.throttled,
    )


class _Forwarder:
    """Sends a worker's progress events to the parent in batches."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self._conn = conn
        self._batch: list[ProgressEvent] = []
        self._sent = time.monotonic()

    def __call__(self, event: ProgressEvent, /) -> None:
        self._batch.append(event)
        if (
            len(self._batch) >= _EVENTS_PER_MESSAGE
            or time.monotonic() - self._sent >= _EVENT_INTERVAL_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        if self._batch:
            self._conn.send(("events", self._batch))
            self._batch = []
        self._sent = time.monotonic()


def _start_method() -> Any:
    """A fork server that imported the library once, where there is one; else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    server = getattr(importlib.import_module("multiprocessing.forkserver"), "_forkserver", None)
    # Preloading is global to the fork server: add ours only to the untouched default.
    if getattr(server, "_preload_modules", None) == ["__main__"]:
        context.set_forkserver_preload(["__main__", __name__])
    return context


def _rebuild_error(key: str, kind: str, text: str) -> Exception:
    error_class = getattr(errors, kind, None)
    if isinstance(error_class, type) and issubclass(error_class, errors.TransferError):
        return error_class(key, text)
    return errors.TransferError(key, f"{kind}: {text}")


def _describe(key: str, exc: Exception) -> tuple[str, str]:
    """An error as (class name, message without the key): exceptions with their own
    ``__init__`` do not always survive pickling, these two strings do."""
    return type(exc).__name__, str(exc).removeprefix(f"{key!r}: ")
