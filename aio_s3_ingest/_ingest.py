"""AsyncS3Ingester: list, select, plan, transfer, record; the stages wired together."""

from __future__ import annotations

import dataclasses
import functools
import logging
import pathlib
import time
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TypeVar

import anyio

from ._config import IngestConfig, IngesterOptions
from ._fetchall import fetch_all, largest_first
from ._local.layout import DatasetLayout
from ._local.lock import dataset_lock
from ._local.manifest import LocalManifest
from ._local.partials import PartialFiles, current_boot
from ._local.recheck import recheck_kept
from ._log import logger
from ._models import FetchOutcome, Plan, Selection
from ._plan import make_plan
from ._procs import fetch_in_processes, process_count, warm_up
from ._progress import planned_event, progress_listener
from ._report import IngestReport, integrity_counts, log_verdict, run_report
from ._run import Run
from ._s3.archived import refuse_archived
from ._s3.client import S3Handles, open_s3
from ._s3.listing import wanted_files
from ._s3errors import endpoint_named
from ._select import check_case_clashes, in_shard
from ._stream import DatasetFile, Landing, stream_files
from ._transfer.context import TransferContext
from .errors import IngestFailed

_Self = TypeVar("_Self", bound="AsyncS3Ingester")


class AsyncS3Ingester(IngesterOptions):
    """Fetch the objects under an S3 prefix into ``destination_directory/dataset_id``.

    Await :meth:`fetch_data` directly, or use the ingester as an async context
    manager to reuse one S3 client (and its connection pool) across calls.
    """

    _s3: S3Handles | None = None
    _stack: AsyncExitStack | None = None

    async def __aenter__(self: _Self) -> _Self:
        stack = AsyncExitStack()
        try:
            with endpoint_named(self.config):
                self._s3 = await open_s3(self.config, stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack, self._s3 = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def fetch_data(
        self, force_recompute: bool = False, *, verify_local: bool = False
    ) -> list[pathlib.Path]:
        """Bring the dataset up to date and return the paths of its files, sorted.

        Only objects that are new or changed since the last run are fetched;
        ``force_recompute=True`` fetches every file again; ``verify_local=True`` re-hashes
        the files it would keep against their recorded checksums and fetches again those
        that no longer match.
        """
        return (await self.sync(force_recompute, verify_local=verify_local)).paths

    async def sync(
        self, force_recompute: bool = False, *, verify_local: bool = False
    ) -> IngestReport:
        """Like :meth:`fetch_data`, but return the :class:`IngestReport` of the run.

        Raises :class:`~aio_s3_ingest.IngestFailed` (with ``.report``) if some objects
        could not be fetched.
        """
        run = RunKind(force=force_recompute, verify_local=verify_local)
        return await self._run(run, dry_run=False)

    async def plan(
        self, force_recompute: bool = False, *, verify_local: bool = False
    ) -> IngestReport:
        """List and compare, and report what :meth:`sync` would fetch, keep and delete.

        Sends no GetObject and writes nothing: a dry run.
        """
        run = RunKind(force=force_recompute, verify_local=verify_local)
        return await self._run(run, dry_run=True)

    def iter_fetch(
        self, force_recompute: bool = False, *, verify_local: bool = False, ordered: bool = False
    ) -> AsyncGenerator[DatasetFile, None]:
        """Bring the dataset up to date, handing over each file as it is in place: the
        kept ones first, then each fetched one once verified and renamed, while the others
        still download (``ordered=True``: in key order instead). Leaving the loop early
        cancels the rest; :class:`~aio_s3_ingest.IngestFailed` comes after the last file
        if some failed. Runs in this process whatever ``processes`` says."""
        run = RunKind(force=force_recompute, verify_local=verify_local)
        window = 2 * self.config.max_concurrent_files
        return stream_files(
            functools.partial(self._run, run, dry_run=False),
            self.config.dataset_directory,
            ordered=ordered,
            window=window,
        )

    async def _run(
        self, kind: RunKind, landing: Landing | None = None, *, dry_run: bool
    ) -> IngestReport:
        if _explicit_processes(self.config) > 1 and not dry_run and landing is None:
            # The fork server imports the library while this process sets up its client
            # and lists; starting it costs this process next to nothing.
            await anyio.to_thread.run_sync(warm_up)
        with endpoint_named(self.config):
            if self._s3 is not None:
                return await run_ingest(
                    self._s3, self.config, kind, dry_run=dry_run, landing=landing
                )
            async with AsyncExitStack() as stack:
                s3 = await open_s3(self.config, stack)
                return await run_ingest(s3, self.config, kind, dry_run=dry_run, landing=landing)


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
        selection = in_shard(await wanted_files(s3, config, run), config.shard)
        layout = DatasetLayout(config.dataset_directory, config.shard)
        if dry_run:
            plan, outcome = await _dry_run(s3, config, layout, (selection, kind), run)
            fetched = {item.relpath: item.obj.size for item in plan.to_fetch}
        else:
            plan, outcome = await _locked_sync(s3, config, layout, (selection, kind), run, landing)
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


async def _dry_run(
    s3: S3Handles,
    config: IngestConfig,
    layout: DatasetLayout,
    asked: tuple[Selection, RunKind],
    run: Run,
) -> tuple[Plan, FetchOutcome]:
    """The plan, and the archived objects it would refuse; nothing written."""
    manifest = LocalManifest(layout.state_dir)
    plan = await _plan(config, layout, manifest, *asked, writable=False)
    plan, refused = await refuse_archived(s3, config, plan, run)
    return plan, FetchOutcome(failures=refused)


async def _locked_sync(
    s3: S3Handles,
    config: IngestConfig,
    layout: DatasetLayout,
    asked: tuple[Selection, RunKind],
    run: Run,
    landing: Landing | None,
) -> tuple[Plan, FetchOutcome]:
    """Under the dataset's lock: plan, fetch, delete and record."""
    await anyio.to_thread.run_sync(layout.create)
    async with dataset_lock(layout.lock_path, config.lock_timeout):
        await anyio.to_thread.run_sync(layout.clear_temp)
        manifest = LocalManifest(layout.state_dir)
        plan = await _plan(config, layout, manifest, *asked, writable=True)
        plan, refused = await refuse_archived(s3, config, plan, run)
        await _prune_partials(config, layout, plan, force=asked[1].force)
        _log_kept(plan)
        run.notify(planned_event(plan))
        done = await _sync_dataset(s3, config, (layout, manifest), plan, run, landing)
    return plan, FetchOutcome(failures=refused).merged(done)


async def _plan(
    config: IngestConfig,
    layout: DatasetLayout,
    manifest: LocalManifest,
    selection: Selection,
    kind: RunKind,
    *,
    writable: bool,
) -> Plan:
    """Compare the listing with the local manifest and the files on disk (read back, with
    ``verify_local``)."""
    probe = layout.ignores_case if writable else layout.ignores_case_without_writing
    if await anyio.to_thread.run_sync(probe):
        check_case_clashes(selection.wanted)
    records = await anyio.to_thread.run_sync(functools.partial(manifest.load, writable=writable))
    tracked = [item.relpath for item in selection.wanted if item.relpath in records]
    disk = await anyio.to_thread.run_sync(layout.stat_files, tracked)
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


def _explicit_processes(config: IngestConfig) -> int:
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
