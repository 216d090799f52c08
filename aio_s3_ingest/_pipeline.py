"""One run's stages: list, plan against the local state, transfer, delete, record.

A run that writes holds the dataset's lock from its plan to its record, and fetches
while it lists (:mod:`._fetch_while_listing`), except where the files are handed over
to a caller (:mod:`._stream`) or shared among processes: those need the whole plan
first. Such a run, where the dataset exists already, takes the lock before the listing
and reads the local state (the manifest, and each tracked file's size and mtime) on
worker threads while the listing runs; a first run lists before it creates anything, so
a bucket that does not answer leaves no directory behind. A dry run only lists and plans.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import anyio

from ._config import IngestConfig
from ._fetch_while_listing import Synced, fetch_while_listing
from ._fetchall import fetch_all, largest_first
from ._local.layout import DatasetLayout
from ._local.lock import dataset_lock
from ._local.manifest import LocalManifest
from ._log import logger
from ._models import FetchOutcome, ObjectInfo, Plan, WantedFile
from ._planning import FetchList, FetchTally, PlanBuilder, listed_and_planned
from ._procs import fetch_in_processes, process_count
from ._progress import planned_event, progress_listener
from ._report import Fetched, IngestReport, integrity_counts, log_verdict, run_report
from ._run import Run
from ._s3.archived import refuse_archived
from ._s3.client import S3Handles
from ._stages import (
    RunKind,
    delete_and_save,
    finish_plan,
    log_kept,
    prune_partials,
    read_local_state,
)
from ._stream import Landing
from ._transfer.context import TransferContext
from .errors import IngestFailed


async def run_ingest(
    s3: S3Handles,
    config: IngestConfig,
    kind: RunKind,
    *,
    dry_run: bool = False,
    landing: Landing | None = None,
) -> IngestReport:
    """One run of the stages; all but a dry run under the dataset's lock. ``landing``, if
    given, orders the files to fetch and hears of each as it lands (:mod:`._stream`).

    The summary is logged once the progress bar is closed, so the two never share a line.
    """
    started = time.monotonic()
    with progress_listener(config.progress) as notify:
        run = Run(notify)
        layout = DatasetLayout(config.dataset_directory, config.shard)
        if dry_run:
            done = await _dry_run(s3, config, layout, kind, run)
        else:
            done = await _locked_sync(s3, config, layout, kind, run, landing)
        outcome = done.outcome
        report = run_report(config, done.plan, run, started, done.fetched, outcome.failures)
        counts = integrity_counts(outcome.fetched.values())
        report = dataclasses.replace(report, dry_run=dry_run, skipped=done.skipped, **counts)
    # The report rides along, for a handler that shows it its own way (the command line).
    logger.info("%s", report.summary(), extra={"ingest_report": report})
    if outcome.failures and not dry_run:
        raise IngestFailed(outcome.failures, report=report)
    return report


@dataclasses.dataclass(frozen=True)
class _Done:
    """What the stages came to: the plan, the paths fetched (or that a dry run would
    fetch) and their bytes, the outcome of the fetches, the keys skipped."""

    plan: Plan
    fetched: Fetched
    outcome: FetchOutcome
    skipped: dict[str, str]


async def _dry_run(
    s3: S3Handles, config: IngestConfig, layout: DatasetLayout, kind: RunKind, run: Run
) -> _Done:
    """The plan, and the archived objects it would refuse; nothing written."""
    local = await read_local_state(layout, LocalManifest(layout.state_dir), writable=False)

    def planned() -> PlanBuilder[FetchTally]:
        builder = PlanBuilder(config, FetchTally(), force=kind.force)
        builder.plan_against(local)
        return builder

    builder = await listed_and_planned(s3, config, run, planned)
    plan = await finish_plan(config, layout, builder, kind, writable=False)
    tally = builder.fetch
    for item in plan.to_fetch:  # kept files that failed their check (verify_local)
        tally.add(item)
    log_verdict(config, plan, (len(tally.paths), tally.bytes), force=kind.force)
    refused = await refuse_archived(s3, config, tally.archived, run)
    left = {item.relpath: item.obj.size for item in tally.archived if item.obj.key in refused}
    paths = [path for path in tally.paths if path not in left] if left else tally.paths
    fetched = Fetched(paths, tally.bytes - sum(left.values()))
    return _Done(plan, fetched, FetchOutcome(failures=refused), builder.selector.skipped)


async def _locked_sync(
    s3: S3Handles,
    config: IngestConfig,
    layout: DatasetLayout,
    kind: RunKind,
    run: Run,
    landing: Landing | None,
) -> _Done:
    """Plan, fetch, delete and record: while the listing runs (:mod:`._fetch_while_listing`)
    unless the files are handed over in order or shared among processes, which need the
    whole plan first."""
    if landing is None and config.processes == 1:
        plan, outcome, skipped = await fetch_while_listing(s3, config, layout, kind, run)
    else:
        plan, outcome, skipped = await _list_then_fetch(s3, config, layout, kind, run, landing)
    fetched = Fetched(outcome.fetched, sum(record.size for record in outcome.fetched.values()))
    return _Done(plan, fetched, outcome, skipped)


async def _list_then_fetch(
    s3: S3Handles,
    config: IngestConfig,
    layout: DatasetLayout,
    kind: RunKind,
    run: Run,
    landing: Landing | None,
) -> Synced:
    """Plan, then under the lock fetch, delete and record (a first run lists first)."""
    existed = await anyio.to_thread.run_sync(layout.state_dir.is_dir)
    manifest = LocalManifest(layout.state_dir)

    def new_builder() -> PlanBuilder[FetchList]:
        return PlanBuilder(config, FetchList(), force=kind.force)

    read = functools.partial(read_local_state, layout, manifest, writable=True)
    first_listing = None
    if not existed:
        first_listing = await listed_and_planned(s3, config, run, new_builder)
        first_listing.selector.check()
    await anyio.to_thread.run_sync(layout.create)
    async with dataset_lock(layout.lock_path, config.lock_timeout):
        await anyio.to_thread.run_sync(layout.clear_temp)
        if first_listing is None:
            builder = await listed_and_planned(s3, config, run, new_builder, read)
        else:
            builder = first_listing
            builder.plan_against(await read())
        plan = await finish_plan(config, layout, builder, kind, writable=True)
        plan = dataclasses.replace(plan, to_fetch=_by_path(builder.fetch.items) + plan.to_fetch)
        log_verdict(config, plan, (len(plan.to_fetch), plan.bytes_to_fetch), force=kind.force)
        archived = [item for item in plan.to_fetch if item.obj.archived]
        if refused := await refuse_archived(s3, config, archived, run):
            kept = tuple(item for item in plan.to_fetch if item.obj.key not in refused)
            plan = dataclasses.replace(plan, to_fetch=kept)
        await prune_partials(config, layout, [] if kind.force else _objects(plan.to_fetch))
        log_kept(plan)
        run.notify(planned_event(plan))
        done = await _sync_dataset(s3, config, (layout, manifest), plan, run, landing)
    return plan, FetchOutcome(failures=refused).merged(done), builder.selector.skipped


def _objects(items: tuple[WantedFile, ...]) -> list[ObjectInfo]:
    return [item.obj for item in items]


def _by_path(items: list[WantedFile]) -> tuple[WantedFile, ...]:
    return tuple(sorted(items, key=lambda item: item.relpath))


async def _sync_dataset(
    s3: S3Handles,
    config: IngestConfig,
    local: tuple[DatasetLayout, LocalManifest],
    plan: Plan,
    run: Run,
    landing: Landing | None,
) -> FetchOutcome:
    """Transfer, delete, and save the manifest (the one the plan was made from); return
    the records of the files fetched, and which keys failed and why."""
    layout, manifest = local
    sizes = [item.obj.size for item in plan.to_fetch]
    context = TransferContext.for_run(config, s3, layout, manifest, run, sizes=sizes)
    await anyio.to_thread.run_sync(manifest.open_journal)
    try:
        processes = 1 if landing else _processes_for(s3, config, plan)
        if processes > 1 and len(plan.to_fetch) > 1:
            items = list(plan.to_fetch)
            outcome = await fetch_in_processes(context, config, items, processes)
        elif landing is None:
            items = largest_first(plan.to_fetch)
            outcome = await fetch_all(context, items, config.max_concurrent_files)
        else:
            limit = config.max_concurrent_files
            outcome = await fetch_all(context, landing.start(plan), limit, landing.landed)
        await delete_and_save(layout, manifest, outcome.fetched, plan.to_delete)
    finally:
        manifest.close_journal()
    return outcome


def explicit_processes(config: IngestConfig) -> int:
    """The processes asked for by number (1 for ``"auto"``, which is decided later)."""
    return config.processes if isinstance(config.processes, int) else 1


def _processes_for(s3: S3Handles, config: IngestConfig, plan: Plan) -> int:
    """The processes that share this run's files (:func:`~._procs.process_count`)."""
    direct = s3.direct
    costly = direct is None or direct.tls  # every byte passes the loop's core
    return process_count(config, plan.to_fetch, bytes_cost_the_loop=costly)
