"""A run's plan, built while its listing arrives.

Each page is selected as it comes (:class:`._selection.Selector`) and each wanted file
planned against the local state (:class:`._plan.Planner`). Where the local state is read
beside the listing, the wanted files wait in a queue until it is in. A dry run keeps only
the paths and sizes of what it would fetch, so ``plan()`` of a large prefix holds little
more than the paths it reports.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from ._config import IngestConfig
from ._fetchall import largest_first
from ._models import DiskState, FileRecord, ObjectInfo, WantedFile
from ._plan import Planner
from ._run import Run
from ._s3.candidates import list_candidates
from ._s3.client import S3Handles
from ._selection import Selector
from ._tasks import run_all

LocalState = tuple[dict[str, FileRecord], dict[str, DiskState | None]]
"""The manifest's records by path, and what the disk holds at each recorded path."""


class FetchSide(Protocol):
    """Where the planner puts the files to fetch."""

    def add(self, item: WantedFile) -> None: ...


class FetchList:
    """The files a run fetches, whole."""

    def __init__(self) -> None:
        self.items: list[WantedFile] = []

    def add(self, item: WantedFile) -> None:
        self.items.append(item)


class FetchQueue(FetchList):
    """The files a run fetches while it still lists: each one ready to be taken as soon as
    it is planned (:meth:`items`). Archived objects wait for the end of the listing (each
    is asked about first: :mod:`._s3.archived`). A listing that starts over plans the same
    files again; each path is taken once."""

    def __init__(self) -> None:
        super().__init__()
        self.archived: list[WantedFile] = []
        self._ready: collections.deque[WantedFile] = collections.deque()
        self._more = asyncio.Event()
        self._closed = False
        self._taken: set[str] | None = None  # paths planned before the listing restarted

    def add(self, item: WantedFile) -> None:
        if self._taken is not None:
            if item.relpath in self._taken:
                return
            self._taken.add(item.relpath)
        self.items.append(item)
        if item.obj.archived:
            self.archived.append(item)
        else:
            self._ready.append(item)
            self._more.set()

    def restarted(self) -> None:
        """The listing starts over: what it plans again is not queued twice."""
        if self.items and self._taken is None:
            self._taken = {item.relpath for item in self.items}

    def close(self, last: Iterable[WantedFile] = (), refused: Container[str] = ()) -> None:
        """The listing ended: ``last`` (files planned after it) and the archived objects
        not ``refused`` (by key) join the queue, and the files not taken yet go largest
        first, so the run does not end on one big file alone."""
        for item in last:
            self.items.append(item)
            self._ready.append(item)
        self._ready.extend(item for item in self.archived if item.obj.key not in refused)
        self._ready = collections.deque(largest_first(self._ready))
        self._closed = True
        self._more.set()

    async def ready(self) -> AsyncIterator[WantedFile]:
        """Each file as it is planned, until the queue is closed and empty."""
        while True:
            if self._ready:
                yield self._ready.popleft()
            elif self._closed:
                return
            else:
                self._more.clear()
                await self._more.wait()


class FetchTally:
    """What a dry run would fetch, in little memory: the paths and their bytes, and the
    archived objects whole (they are asked about once more)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.bytes = 0
        self.archived: list[WantedFile] = []

    def add(self, item: WantedFile) -> None:
        self.paths.append(item.relpath)
        self.bytes += item.obj.size
        if item.obj.archived:
            self.archived.append(item)


FetchT = TypeVar("FetchT", bound=FetchSide)


class PlanBuilder(Generic[FetchT]):
    """One listing's objects, selected as they arrive and planned once the local state
    is in (:meth:`plan_against`); the files to fetch go to ``fetch``."""

    def __init__(self, config: IngestConfig, fetch: FetchT, *, force: bool) -> None:
        self.selector = Selector.for_config(config, self._wanted)
        self.fetch = fetch
        self._force = force
        self._waiting: list[WantedFile] = []
        self._planner: Planner | None = None

    def add(self, objects: list[ObjectInfo]) -> None:
        self.selector.add(objects)

    @property
    def records(self) -> Mapping[str, FileRecord]:
        """The local manifest's records the plan is made against (none before it is in)."""
        return self._planner.records if self._planner is not None else {}

    def _wanted(self, item: WantedFile) -> None:
        if self._planner is None:
            self._waiting.append(item)
        else:
            self._planner.add(item)

    def plan_against(self, local: LocalState) -> None:
        """Plan the files so far, and each one after, against ``local``."""
        records, disk = local
        self.selector.only_tracked({record.key for record in records.values()})
        self._planner = Planner(records, disk, force=self._force, fetch=self.fetch.add)
        waiting, self._waiting = self._waiting, []
        for item in waiting:
            self._planner.add(item)

    def finish(
        self, *, ignores_case: bool, prune_unselected: bool
    ) -> tuple[list[WantedFile], list[str], list[str]]:
        """The checks over every key (:meth:`Selector.finish`), then the files to keep
        (sorted by path), the tracked paths to delete, and those left alone."""
        if self._planner is None:
            raise RuntimeError("the plan was finished before the local state was in")
        selector = self.selector
        selector.finish(ignores_case=ignores_case)
        to_delete, unselected = self._planner.leftovers(
            selector.wanted_here, selector.is_present, prune_unselected=prune_unselected
        )
        to_keep = sorted(self._planner.to_keep, key=lambda item: item.relpath)
        return to_keep, to_delete, unselected


BuilderT = TypeVar("BuilderT", bound="PlanBuilder[Any]")


async def listed_and_planned(
    s3: S3Handles,
    config: IngestConfig,
    run: Run,
    new_builder: Callable[[], BuilderT],
    read_local: Callable[[], Awaitable[LocalState]] | None = None,
) -> BuilderT:
    """The listing into a builder (a new one if the listing starts over). With
    ``read_local`` the local state is read while the listing runs, and planned against;
    without it, the builder plans once the caller calls :meth:`PlanBuilder.plan_against`
    (or its factory already did)."""
    local: LocalState | None = None
    made: list[BuilderT] = []

    def builder() -> BuilderT:
        made.append(new_builder())
        if local is not None:
            made[-1].plan_against(local)
        return made[-1]

    async def reading() -> None:
        nonlocal local
        assert read_local is not None
        local = await read_local()
        if made:
            made[-1].plan_against(local)

    async def listing() -> None:
        await list_candidates(s3, config, run, builder)

    await run_all([listing, reading] if read_local is not None else [listing])
    return made[-1]
