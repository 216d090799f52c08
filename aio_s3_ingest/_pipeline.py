"""One run's stages: list, plan against the local state, transfer, delete, record.

A run that writes holds the dataset's lock from its plan to its record. Where the
dataset exists already, the lock is taken before the listing, and the local state (the
manifest, and each tracked file's size and mtime) is read on worker threads while the
listing runs: on a large dataset that is most of a cache hit beyond the listing itself.
A first run lists before it creates anything, so a bucket that does not answer leaves
no directory behind.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import anyio

from ._config import IngestConfig
from ._fetchall import fetch_all, largest_first
from ._local.layout import DatasetLayout
from ._local.lock import dataset_lock
from ._local.manifest import LocalManifest
from ._local.partials import PartialFiles, current_boot
from ._local.recheck import recheck_kept
from ._log import logger
from ._models import DiskState, FetchOutcome, FileRecord, Plan, Selection
from ._plan import make_plan
from ._procs import fetch_in_processes, process_count
from ._progress import planned_event, progress_listener
from ._report import IngestReport, integrity_counts, log_verdict, run_report
from ._run import Run
from ._s3.archived import refuse_archived
from ._s3.client import S3Handles
from ._s3.listing import wanted_files
from ._select import check_case_clashes, in_shard
from ._stream import Landing
from ._tasks import run_all
from ._transfer.context import TransferContext
from .errors import IngestFailed

LocalState = tuple[dict[str, FileRecord], dict[str, DiskState | None]]
"""The manifest's records by path, and what the disk holds at each recorded path."""


@dataclasses.dataclass(frozen=True)
class RunKind:
    """What one call asks beyond the configuration: fetch everything again, re-hash the
    files it would keep."""

    force: bool = False
    verify_local: bool = False


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
            selection, plan, outcome = await _dry_run(s3, config, layout, kind, run)
            fetched = {item.relpath: item.obj.size for item in plan.to_fetch}
        else:
            run_stages = _locked_sync(s3, config, layout, kind, run, landing)
            selection, plan, outcome = await run_stages
            fetched = {path: record.size for path, record in outcome.fetched.items()}
        skipped = selection.skipped
        report = run_report(config, plan, run, started, fetched, skipped, outcome.failures)
        counts = integrity_counts(outcome.fetched.values())
        report = dataclasses.replace(report, dry_run=dry_run, **counts)
    # The report rides along, for a handler that shows it its own way (the command line).
    logger.info("%s", report.summary(), extra={"ingest_report": report})
    if outcome.failures and not dry_run:
        raise IngestFailed(outcome.failures, report=report)
    return report


Stages = tuple[Selection, Plan, FetchOutcome]


async def _dry_run(
    s3: S3Handles, config: IngestConfig, layout: DatasetLayout, kind: RunKind, run: Run
) -> Stages:
    """The plan, and the archived objects it would refuse; nothing written."""
    selection = await _selection(s3, config, run)
    local = await _local_state(layout, LocalManifest(layout.state_dir), writable=False)
    plan = await _plan(config, layout, (selection, kind), local, writable=False)
    plan, refused = await refuse_archived(s3, config, plan, run)
    return selection, plan, FetchOutcome(failures=refused)


async def _locked_sync(
    s3: S3Handles,
    config: IngestConfig,
    layout: DatasetLayout,
    kind: RunKind,
    run: Run,
    landing: Landing | None,
) -> Stages:
    """Under the dataset's lock: plan, fetch, delete and record (see the module's
    docstring for when the listing comes first)."""
    existed = await anyio.to_thread.run_sync(layout.state_dir.is_dir)
    first_listing = None if existed else await _selection(s3, config, run)
    await anyio.to_thread.run_sync(layout.create)
    async with dataset_lock(layout.lock_path, config.lock_timeout):
        await anyio.to_thread.run_sync(layout.clear_temp)
        manifest = LocalManifest(layout.state_dir)
        if first_listing is None:
            selection, local = await _listed_beside_local(s3, config, run, layout, manifest)
        else:
            selection = first_listing
            local = await _local_state(layout, manifest, writable=True)
        plan = await _plan(config, layout, (selection, kind), local, writable=True)
        plan, refused = await refuse_archived(s3, config, plan, run)
        await _prune_partials(config, layout, plan, force=kind.force)
        _log_kept(plan)
        run.notify(planned_event(plan))
        done = await _sync_dataset(s3, config, (layout, manifest), plan, run, landing)
    return selection, plan, FetchOutcome(failures=refused).merged(done)


async def _selection(s3: S3Handles, config: IngestConfig, run: Run) -> Selection:
    return in_shard(await wanted_files(s3, config, run), config.shard)


async def _local_state(
    layout: DatasetLayout, manifest: LocalManifest, *, writable: bool
) -> LocalState:
    """The manifest's records, and a stat of every recorded path, on a worker thread."""

    def read() -> LocalState:
        records = manifest.load(writable=writable)
        return records, layout.stat_files(records)

    return await anyio.to_thread.run_sync(read)


async def _listed_beside_local(
    s3: S3Handles, config: IngestConfig, run: Run, layout: DatasetLayout, manifest: LocalManifest
) -> tuple[Selection, LocalState]:
    """The listing, while a worker thread reads the local state; the first error of the
    two ends both."""
    selection: Selection | None = None
    local: LocalState | None = None

    async def listing() -> None:
        nonlocal selection
        selection = await _selection(s3, config, run)

    async def reading() -> None:
        nonlocal local
        local = await _local_state(layout, manifest, writable=True)

    await run_all([listing, reading])
    if selection is None or local is None:
        raise RuntimeError("a stage of the run ended without its result")
    return selection, local


async def _plan(
    config: IngestConfig,
    layout: DatasetLayout,
    asked: tuple[Selection, RunKind],
    local: LocalState,
    *,
    writable: bool,
) -> Plan:
    """Compare the listing with the local manifest and the files on disk (read back, with
    ``verify_local``)."""
    selection, kind = asked
    probe = layout.ignores_case if writable else layout.ignores_case_without_writing
    if await anyio.to_thread.run_sync(probe):
        check_case_clashes(selection.wanted)
    records, disk = local
    plan = make_plan(
        selection, records, disk, force=kind.force, prune_unselected=config.prune_unselected
    )
    if kind.verify_local:
        plan = await recheck_kept(layout.root, plan, records)
    log_verdict(config, plan, force=kind.force)
    return plan


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
        for relpath in await anyio.to_thread.run_sync(layout.delete, plan.to_delete):
            logger.debug("deleted %s: its object left S3, or the selection", relpath)
        await anyio.to_thread.run_sync(manifest.save, outcome.fetched, plan.to_delete)
    finally:
        manifest.close_journal()
    return outcome


async def _prune_partials(
    config: IngestConfig, layout: DatasetLayout, plan: Plan, *, force: bool
) -> None:
    """Remove partial files an earlier run left for objects this run will not fetch, or
    that changed since (all of them with ``force_recompute``)."""
    wanted = [] if force else [item.obj for item in plan.to_fetch]
    partials = PartialFiles(
        layout, config.s3_bucket_name, current_boot(), min_size=config.part_size
    )
    if removed := await anyio.to_thread.run_sync(partials.prune, wanted):
        logger.debug("removed %d partial file(s) of objects no longer to fetch", removed)


def explicit_processes(config: IngestConfig) -> int:
    """The processes asked for by number (1 for ``"auto"``, which is decided later)."""
    return config.processes if isinstance(config.processes, int) else 1


def _processes_for(s3: S3Handles, config: IngestConfig, plan: Plan) -> int:
    """The processes that share this run's files (:func:`~._procs.process_count`)."""
    direct = s3.direct
    costly = direct is None or direct.tls  # every byte passes the loop's core
    return process_count(config, plan.to_fetch, bytes_cost_the_loop=costly)


def _log_kept(plan: Plan) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        for item in plan.to_keep:
            logger.debug("kept %s: unchanged in S3 and on disk", item.relpath)
