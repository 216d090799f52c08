"""Inside a worker process: ask the parent for files, fetch them, report back.

The conversation on the pipe, worker to parent: ``("want", n)`` asks for up to ``n``
more files, answered by ``("items", [...])`` (an empty list: nothing left);
``("events", [...])`` carries progress events in batches; the last message is
``("done", WorkerOutcome)``, or ``("failed", (class name, message))`` if the worker could
not run at all. The parent stops a worker with SIGTERM, which cancels its run the way
``task.cancel()`` cancels one here: temp files are removed on the way out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import multiprocessing.connection
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio

from ._config import IngestConfig
from ._fetchall import fetch_all
from ._local.layout import DatasetLayout
from ._local.manifest import LocalManifest
from ._models import FileRecord, WantedFile
from ._progress import ProgressEvent, ignore
from ._run import Run
from ._s3.client import open_s3
from ._transfer.context import TransferContext

Connection = multiprocessing.connection.Connection

_EVENTS_PER_MESSAGE = 256
_EVENT_INTERVAL_SECONDS = 0.05
_REPLY_POLL_SECONDS = 0.0005


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker is started with (its files come later, on request)."""

    config: IngestConfig
    limit: int
    environ: dict[str, str]
    forward_events: bool


@dataclass
class WorkerOutcome:
    """What a worker reports once the parent has no more files for it."""

    fetched: dict[str, FileRecord] = field(default_factory=dict)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)  # key: (class, text)
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    resumed_bytes: int = 0


def worker_main(setup: WorkerSetup, conn: Connection) -> None:
    """Entry point of a worker process."""
    # Ctrl-C reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Credentials and settings as the parent sees them now: a fork server's are older.
    os.environ.clear()
    os.environ.update(setup.environ)
    sender = _Sender(conn)
    try:
        outcome = anyio.run(_fetch_share, setup, conn, sender, backend="asyncio")
        message: tuple[str, Any] = ("done", outcome)
    except BaseException as exc:
        message = ("failed", (type(exc).__name__, str(exc)))
    sender.close()  # the loop is gone: what it posted is sent before the last word
    with contextlib.suppress(OSError):
        conn.send(message)
    conn.close()


class _Sender:
    """Messages to the parent, in order, from one thread of their own: a send blocks while
    the pipe is full, so none runs on the event loop, and none beside another."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="to-parent")

    def post(self, message: tuple[str, Any]) -> None:
        """Send without waiting (progress events)."""
        self._thread.submit(self._conn.send, message)

    async def send(self, message: tuple[str, Any]) -> None:
        """Send, and wait until the pipe took it."""
        await asyncio.wrap_future(self._thread.submit(self._conn.send, message))

    def close(self) -> None:
        """Blocking: every posted message sent (or failed, if the parent is gone)."""
        self._thread.shutdown(wait=True)


async def _fetch_share(setup: WorkerSetup, conn: Connection, sender: _Sender) -> WorkerOutcome:
    task = asyncio.current_task()
    if task is not None:  # SIGTERM from the parent: stop as a cancelled run does
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    forward = _Forwarder(sender) if setup.forward_events else ignore
    run = Run(forward)
    async with contextlib.AsyncExitStack() as stack:
        s3 = await open_s3(setup.config, stack)
        layout = DatasetLayout(setup.config.dataset_directory, setup.config.shard)
        manifest = LocalManifest(layout.state_dir)
        await anyio.to_thread.run_sync(_open_dataset, layout, manifest)
        stack.push_async_callback(anyio.to_thread.run_sync, manifest.close_journal)
        context = TransferContext.for_run(setup.config, s3, layout, manifest, run)
        items = _files_from_parent(conn, sender, setup.limit)
        outcome = await fetch_all(context, items, setup.limit)
    if isinstance(forward, _Forwarder):
        forward.flush()
    return WorkerOutcome(
        fetched=outcome.fetched,
        failures={key: describe_error(key, exc) for key, exc in outcome.failures.items()},
        requests=run.requests,
        retries=run.retries,
        throttled=run.throttled,
        resumed_bytes=run.resumed_bytes,
    )


def _open_dataset(layout: DatasetLayout, manifest: LocalManifest) -> None:
    """Blocking: the dataset's folders exist and the journal is open for appends."""
    layout.create()
    manifest.open_journal()


async def _files_from_parent(
    conn: Connection, sender: _Sender, batch: int
) -> AsyncIterator[WantedFile]:
    """Files asked for a batch at a time; the reply is polled, so a cancelled worker
    never sits in a blocking read."""
    while True:
        await sender.send(("want", batch))
        while not conn.poll():  # noqa: ASYNC110  # a pipe, not an event we could await
            await anyio.sleep(_REPLY_POLL_SECONDS)
        _, items = conn.recv()
        if not items:
            return
        for item in items:
            yield item


class _Forwarder:
    """Sends progress events to the parent in batches."""

    def __init__(self, sender: _Sender) -> None:
        self._sender = sender
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
            self._sender.post(("events", self._batch))
            self._batch = []
        self._sent = time.monotonic()


def describe_error(key: str, exc: Exception) -> tuple[str, str]:
    """An error as (class name, message without the key): exceptions with their own
    ``__init__`` do not always survive pickling, these two strings do."""
    return type(exc).__name__, str(exc).removeprefix(f"{key!r}: ")
