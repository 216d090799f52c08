"""Steps that both ways of a writing run share (:mod:`._pipeline` lists first, then
fetches; :mod:`._fetch_while_listing` fetches while it lists): the local state read, the
plan finished over the whole listing, stale partial files pruned, and the end of a run
(deletions and the manifest saved)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping
from typing import Any

import anyio

from ._config import IngestConfig
from ._local.layout import DatasetLayout
from ._local.manifest import LocalManifest
from ._local.partials import PartialFiles, current_boot
from ._local.recheck import recheck_kept
from ._log import logger
from ._models import FileRecord, ObjectInfo, Plan
from ._planning import LocalState, PlanBuilder


@dataclasses.dataclass(frozen=True)
class RunKind:
    """What one call asks beyond the configuration: fetch everything again, re-hash the
    files it would keep."""

    force: bool = False
    verify_local: bool = False


async def read_local_state(
    layout: DatasetLayout, manifest: LocalManifest, *, writable: bool
) -> LocalState:
    """The manifest's records, and a stat of every recorded path, on a worker thread."""

    def read() -> LocalState:
        records = manifest.load(writable=writable)
        return records, layout.stat_files(records)

    return await anyio.to_thread.run_sync(read)


async def finish_plan(
    config: IngestConfig,
    layout: DatasetLayout,
    builder: PlanBuilder[Any],
    kind: RunKind,
    *,
    writable: bool,
) -> Plan:
    """The checks over the whole listing, the files to keep and delete (to fetch: only
    kept files that ``verify_local`` found changed; the rest are in the builder's list)."""
    probe = layout.ignores_case if writable else layout.ignores_case_without_writing
    ignores_case = await anyio.to_thread.run_sync(probe)
    to_keep, to_delete, unselected = builder.finish(
        ignores_case=ignores_case, prune_unselected=config.prune_unselected
    )
    plan = Plan((), tuple(to_keep), tuple(to_delete), tuple(unselected))
    if kind.verify_local:
        plan = await recheck_kept(layout.root, plan, builder.records)
    return plan


def partials_of(config: IngestConfig, layout: DatasetLayout) -> PartialFiles:
    return PartialFiles(layout, config.s3_bucket_name, current_boot(), min_size=config.part_size)


async def prune_partials(
    config: IngestConfig,
    layout: DatasetLayout,
    wanted: list[ObjectInfo],
    among: Collection[str] | None = None,
) -> None:
    """Remove partial files an earlier run left (those named in ``among``, if given) for
    objects not in ``wanted`` (none there: every one), or that changed since."""
    partials = partials_of(config, layout)
    if removed := await anyio.to_thread.run_sync(partials.prune, wanted, among):
        logger.debug("removed %d partial file(s) of objects no longer to fetch", removed)


async def delete_and_save(
    layout: DatasetLayout,
    manifest: LocalManifest,
    fetched: Mapping[str, FileRecord],
    to_delete: tuple[str, ...],
) -> None:
    """Delete the files that left S3 or the selection, then save the manifest."""
    for relpath in await anyio.to_thread.run_sync(layout.delete, to_delete):
        logger.debug("deleted %s: its object left S3, or the selection", relpath)
    await anyio.to_thread.run_sync(manifest.save, fetched, to_delete)


def log_kept(plan: Plan) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        for item in plan.to_keep:
            logger.debug("kept %s: unchanged in S3 and on disk", item.relpath)
