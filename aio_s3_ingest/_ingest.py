"""AsyncS3Ingester: list, select, plan, transfer, record; the stages wired together."""

from __future__ import annotations

import asyncio
import pathlib
import time
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import anyio

from ._client import S3Handles, open_s3
from ._config import IngestConfig
from ._layout import DatasetLayout
from ._listing import wanted_files
from ._lock import dataset_lock
from ._log import logger
from ._manifest import LocalManifest
from ._models import FileRecord, Plan, WantedFile
from ._options import IngesterOptions
from ._plan import make_plan
from ._progress import RunPlanned, ignore
from ._select import check_case_clashes
from ._transfer import TransferContext, fetch_file
from .errors import IngestFailed

if TYPE_CHECKING:
    pass

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

    async def fetch_data(self, force_recompute: bool = False) -> list[pathlib.Path]:
        """Bring the dataset up to date and return the paths of its files, sorted.

        Only objects that are new or changed since the last run are fetched;
        ``force_recompute=True`` fetches every file again.
        """
        if self._s3 is not None:
            return await run_ingest(self._s3, self.config, force=force_recompute)
        async with AsyncExitStack() as stack:
            s3 = await open_s3(self.config, stack)
            return await run_ingest(s3, self.config, force=force_recompute)


async def run_ingest(s3: S3Handles, config: IngestConfig, *, force: bool) -> list[pathlib.Path]:
    """One run of the stages, under the dataset's lock."""
    wanted = await wanted_files(s3.client, config)
    layout = DatasetLayout(config.dataset_directory)
    await anyio.to_thread.run_sync(layout.create)
    if await anyio.to_thread.run_sync(layout.ignores_case):
        check_case_clashes(wanted)
    async with dataset_lock(layout.lock_path, config.lock_timeout):
        await anyio.to_thread.run_sync(layout.clear_temp)
        await _sync_dataset(s3, config, layout, wanted, force=force)
    return sorted(config.dataset_directory / item.relpath for item in wanted)


async def _sync_dataset(
    s3: S3Handles,
    config: IngestConfig,
    layout: DatasetLayout,
    wanted: list[WantedFile],
    *,
    force: bool,
) -> None:
    manifest = LocalManifest(layout.state_dir)
    records = await anyio.to_thread.run_sync(manifest.load)
    tracked = [item.relpath for item in wanted if item.relpath in records]
    disk = await anyio.to_thread.run_sync(layout.stat_files, tracked)
    plan = make_plan(wanted, records, disk, force=force)
    _log_verdict(config, plan, force=force)
    notify = config.progress or ignore
    notify(
        RunPlanned(
            files_to_fetch=len(plan.to_fetch),
            bytes_to_fetch=plan.bytes_to_fetch,
            files_to_keep=len(plan.to_keep),
            files_to_delete=len(plan.to_delete),
        )
    )
    context = TransferContext(
        client=s3.client,
        getter=s3.getter,
        bucket=config.s3_bucket_name,
        layout=layout,
        manifest=manifest,
        workers_per_file=config.workers_per_file,
        part_size=config.part_size,
        chunk_size=config.chunk_size,
        max_attempts=config.max_attempts,
        notify=notify,
    )
    started = time.monotonic()
    await anyio.to_thread.run_sync(manifest.open_journal)
    try:
        fetched, failures = await _transfer_all(context, plan, config.max_concurrent_files)
        await anyio.to_thread.run_sync(layout.delete, plan.to_delete)
        kept = {path: rec for path, rec in records.items() if path not in plan.to_delete}
        await anyio.to_thread.run_sync(manifest.save, kept | fetched)
    finally:
        manifest.close_journal()
    _log_summary(plan, fetched, failures, time.monotonic() - started)
    if failures:
        raise IngestFailed(failures)


async def _transfer_all(
    context: TransferContext, plan: Plan, limit: int
) -> tuple[dict[str, FileRecord], dict[str, Exception]]:
    """Fetch under a semaphore, largest first; a failure is collected, not contagious."""
    semaphore = asyncio.Semaphore(limit)
    fetched: dict[str, FileRecord] = {}
    failures: dict[str, Exception] = {}

    async def fetch_one(item: WantedFile) -> None:
        try:
            fetched[item.relpath] = await fetch_file(context, item)
        except Exception as exc:
            failures[item.obj.key] = exc
            logger.debug("%r failed: %s", item.obj.key, exc)
        finally:
            semaphore.release()

    async with anyio.create_task_group() as group:
        for item in sorted(plan.to_fetch, key=lambda w: w.obj.size, reverse=True):
            await semaphore.acquire()
            group.start_soon(fetch_one, item)
    return fetched, failures


def _log_verdict(config: IngestConfig, plan: Plan, *, force: bool) -> None:
    where = config.dataset_directory
    if force:
        logger.info("force_recompute: fetching all %d file(s) into %s", len(plan.to_fetch), where)
    elif not plan.to_fetch and not plan.to_delete:
        logger.info("cache hit: %d file(s) in %s are up to date", len(plan.to_keep), where)
    else:
        logger.info(
            "cache miss: fetching %d of %d file(s) (%s) into %s, deleting %d",
            len(plan.to_fetch),
            len(plan.to_fetch) + len(plan.to_keep),
            _human_bytes(plan.bytes_to_fetch),
            where,
            len(plan.to_delete),
        )


def _log_summary(
    plan: Plan, fetched: dict[str, FileRecord], failures: dict[str, Exception], seconds: float
) -> None:
    size = sum(record.size for record in fetched.values())
    rate = size / seconds if seconds > 0 else 0.0
    logger.info(
        "fetched %d file(s), %s in %.2f s (%s/s); kept %d, deleted %d, failed %d",
        len(fetched),
        _human_bytes(size),
        seconds,
        _human_bytes(int(rate)),
        len(plan.to_keep),
        len(plan.to_delete),
        len(failures),
    )


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
