"""A writing run that downloads while it still lists.

Each page of the listing is selected and planned as it arrives, and each file to fetch
is queued for the transfer at once (:class:`._planning.FetchQueue`), so the first bytes
come after the first page, not after the last. What needs the whole listing still
decides before anything lands: finished files wait in their temp files behind the
run's landing gate (:mod:`._transfer.landing_gate`) until the listing has ended and
its checks have passed (no match at all, unsafe or colliding paths, names equal but
for case, the timestamp spread, an S3 manifest's entries). If one fails, the transfer
is cancelled and the waiting files removed: the error is raised with nothing landed,
as when a run lists first. Archived objects are asked about once the listing has
ended (one HEAD each), and fetched only if restored.

A first run creates the dataset's folders before its listing, to take the lock and
hold temp files; if it stops before its listing was accepted and before anything
landed, it removes them again (partial files included). Once the listing is accepted,
a run that stops keeps its large files' partial files for the next run to resume.
"""

from __future__ import annotations

import asyncio
import functools

import anyio

from ._config import IngestConfig
from ._fetchall import fetch_all
from ._local.layout import DatasetLayout
from ._local.lock import dataset_lock
from ._local.manifest import LocalManifest
from ._models import FetchOutcome, Plan
from ._planning import FetchQueue, PlanBuilder, listed_and_planned
from ._progress import planned_event
from ._report import log_verdict
from ._run import Run
from ._s3.archived import refuse_archived
from ._s3.client import S3Handles
from ._stages import (
    RunKind,
    delete_and_save,
    finish_plan,
    log_kept,
    partials_of,
    prune_partials,
    read_local_state,
)
from ._transfer.context import TransferContext
from ._transfer.fetch import write_error
from ._transfer.landing_gate import LandingGate
from ._transfer.writes import land

_LANDED_AT_ONCE = 64  # waiting files moved into place per turn of the loop

Synced = tuple[Plan, FetchOutcome, dict[str, str]]
"""The plan, the outcome of the fetches (refused archived objects among the failures),
and the keys the selection skipped."""


async def fetch_while_listing(
    s3: S3Handles, config: IngestConfig, layout: DatasetLayout, kind: RunKind, run: Run
) -> Synced:
    """Under the dataset's lock: list, fetch, delete and record (see the module)."""
    made_from = await anyio.to_thread.run_sync(layout.first_missing)
    await anyio.to_thread.run_sync(layout.create)
    gate = LandingGate(is_open=False)
    try:
        async with dataset_lock(layout.lock_path, config.lock_timeout):
            return await _locked(s3, config, layout, kind, run, gate)
    except BaseException:
        if made_from is not None and not gate.is_open and not gate.landed_any:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(layout.remove_made, made_from)
        raise


async def _locked(
    s3: S3Handles,
    config: IngestConfig,
    layout: DatasetLayout,
    kind: RunKind,
    run: Run,
    gate: LandingGate,
) -> Synced:
    await anyio.to_thread.run_sync(layout.clear_temp)
    if kind.force:  # nothing an earlier run left is trusted: before any transfer starts
        await prune_partials(config, layout, [])
    left = await anyio.to_thread.run_sync(partials_of(config, layout).present)
    manifest = LocalManifest(layout.state_dir)
    queue = FetchQueue()
    context = TransferContext.for_run(config, s3, layout, manifest, run, gate=gate)
    await anyio.to_thread.run_sync(manifest.open_journal)
    try:
        transfer = asyncio.create_task(
            fetch_all(context, queue.ready(), config.max_concurrent_files)
        )
        try:
            listed = await _listed(s3, config, (layout, manifest), kind, run, queue)
            plan, refused, skipped = listed
            await prune_partials(config, layout, [item.obj for item in plan.to_fetch], left)
            await _open(gate, context)
            run.notify(planned_event(plan))
            outcome = await transfer
        except BaseException:
            transfer.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait([transfer])
                await anyio.to_thread.run_sync(gate.discard)
            raise
        _failed_to_land(gate, layout, outcome)
        await delete_and_save(layout, manifest, outcome.fetched, plan.to_delete)
    finally:
        manifest.close_journal()
    return plan, FetchOutcome(failures=refused).merged(outcome), skipped


def _failed_to_land(gate: LandingGate, layout: DatasetLayout, outcome: FetchOutcome) -> None:
    """Waiting files that could not be put in place count as failed, not fetched."""
    for relpath, record, exc in gate.failed:
        outcome.fetched.pop(relpath, None)
        outcome.failures[record.key] = write_error(
            layout.root / relpath, record.key, record.size, exc
        )


async def _open(gate: LandingGate, context: TransferContext) -> None:
    """Land the files that waited, a batch per turn of the loop, then let the rest through."""
    moved = functools.partial(land, context)
    while True:
        if await context.small_writes.run(lambda: gate.open_some(moved, _LANDED_AT_ONCE)):
            return
        await asyncio.sleep(0)  # the transfer goes on between batches


async def _listed(
    s3: S3Handles,
    config: IngestConfig,
    local: tuple[DatasetLayout, LocalManifest],
    kind: RunKind,
    run: Run,
    queue: FetchQueue,
) -> tuple[Plan, dict[str, Exception], dict[str, str]]:
    """The listing planned into ``queue`` and checked; the queue closed with the kept
    files ``verify_local`` found changed and the restored archived objects. Returns the
    plan, the archived objects refused, and the keys skipped."""
    layout, manifest = local

    def new_builder() -> PlanBuilder[FetchQueue]:
        queue.restarted()
        return PlanBuilder(config, queue, force=kind.force)

    read = functools.partial(read_local_state, layout, manifest, writable=True)
    builder = await listed_and_planned(s3, config, run, new_builder, read)
    plan = await finish_plan(config, layout, builder, kind, writable=True)
    rechecked = plan.to_fetch
    plan = Plan(tuple(queue.items) + rechecked, plan.to_keep, plan.to_delete, plan.unselected)
    log_verdict(config, plan, (len(plan.to_fetch), plan.bytes_to_fetch), force=kind.force)
    refused = await refuse_archived(s3, config, [*queue.archived], run)
    queue.close(last=rechecked, refused=refused)
    if refused:
        kept = tuple(item for item in plan.to_fetch if item.obj.key not in refused)
        plan = Plan(kept, plan.to_keep, plan.to_delete, plan.unselected)
    log_kept(plan)
    return plan, refused, builder.selector.skipped
