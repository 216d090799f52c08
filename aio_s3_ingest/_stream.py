"""Files handed to the caller as they land: the kept ones at once, each fetched one as soon
as it is verified and renamed into place, while the others still download.

A run reports to a :class:`Landing` passed down to it explicitly: the run asks it, once
planned, in which order to fetch, and tells it each file that landed or failed. The
caller's iterator reads the files from a channel the landing fills. In key order
(``ordered=True``) a file that lands early waits for those before it, and a file starts
only while fewer than a window of files ahead of the next one owed are waiting or in
flight, so what waits stays bounded however slow one file is.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import pathlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from dataclasses import dataclass
from typing import Literal

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ._fetchall import largest_first
from ._models import FileRecord, Plan, WantedFile

Outcome = Literal["kept", "fetched", "failed"]


@dataclass(frozen=True, slots=True)
class DatasetFile:
    """One file of the dataset, on disk and complete: ``relpath`` under the dataset
    directory, its local ``path``, ``size`` in bytes, the object ``key``, and whether this
    run ``fetched`` it (False: it was kept as it was)."""

    relpath: str
    path: pathlib.Path
    size: int
    key: str
    fetched: bool


class Landing:
    """Hands each file to a channel as it lands; kept files first, the rest as they come.
    The run fetches big files first."""

    def __init__(self, root: pathlib.Path, channel: MemoryObjectSendStream[DatasetFile]) -> None:
        self._root = root
        self._channel = channel

    def start(self, plan: Plan) -> Iterable[WantedFile] | AsyncIterable[WantedFile]:
        """The files to fetch, in the order to fetch them; the kept ones are handed over."""
        for item in plan.to_keep:
            self._send(item, fetched=False)
        return largest_first(plan.to_fetch)

    def landed(self, item: WantedFile, record: FileRecord | None) -> None:
        """``item`` is in place (``record``), or failed (None: it is not handed over)."""
        if record is not None:
            self._send(item, fetched=True)

    def _send(self, item: WantedFile, *, fetched: bool) -> None:
        path = self._root / item.relpath
        file = DatasetFile(item.relpath, path, item.obj.size, item.obj.key, fetched)
        with contextlib.suppress(anyio.BrokenResourceError):  # the caller left the loop
            self._channel.send_nowait(file)


class OrderedLanding(Landing):
    """Hands the files over in key order; the run fetches in key order too, at most
    ``window`` files ahead of the next one owed to the caller."""

    def __init__(
        self, root: pathlib.Path, channel: MemoryObjectSendStream[DatasetFile], window: int
    ) -> None:
        super().__init__(root, channel)
        self._window = window
        self._order: list[str] = []  # the keys, sorted
        self._items: dict[str, WantedFile] = {}
        self._done: dict[str, Outcome] = {}
        self._next = 0  # index in _order of the next file owed
        self._moved = asyncio.Event()

    def start(self, plan: Plan) -> AsyncIterable[WantedFile]:
        items = [*plan.to_keep, *plan.to_fetch]
        self._items = {item.obj.key: item for item in items}
        self._order = sorted(self._items)
        for item in plan.to_keep:
            self._done[item.obj.key] = "kept"
        self._release()
        return self._admitted(sorted(plan.to_fetch, key=lambda item: item.obj.key))

    def landed(self, item: WantedFile, record: FileRecord | None) -> None:
        self._done[item.obj.key] = "failed" if record is None else "fetched"
        self._release()

    async def _admitted(self, to_fetch: list[WantedFile]) -> AsyncIterator[WantedFile]:
        """``to_fetch`` in key order, each once it is within the window."""
        for item in to_fetch:
            while bisect.bisect_left(self._order, item.obj.key) >= self._next + self._window:
                self._moved.clear()
                await self._moved.wait()
            yield item

    def _release(self) -> None:
        """Hand over every file owed whose turn has come."""
        while self._next < len(self._order) and self._order[self._next] in self._done:
            key = self._order[self._next]
            outcome = self._done.pop(key)
            if outcome != "failed":
                self._send(self._items[key], fetched=outcome == "fetched")
            self._next += 1
        self._moved.set()


async def stream_files(
    run: Callable[[Landing], Awaitable[object]],
    root: pathlib.Path,
    *,
    ordered: bool,
    window: int,
) -> AsyncGenerator[DatasetFile, None]:
    """The files of ``run`` as they land. The run is a task of its own, so that leaving
    the loop early (``break``, an error in the caller's body) cancels it from whichever
    task closes this generator; the cancelled run removes its temp files, and what landed
    is in the local manifest's journal. A failed run's error is raised after the last file."""
    send, receive = anyio.create_memory_object_stream[DatasetFile](math.inf)
    landing = OrderedLanding(root, send, window) if ordered else Landing(root, send)
    task = asyncio.ensure_future(run(landing))
    task.add_done_callback(lambda _: send.close())
    try:
        async with receive:
            async for file in receive:
                yield file
        await task
    finally:
        if not task.done():
            task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait([task])
