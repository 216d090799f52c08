"""AsyncS3Ingester: the public face of a dataset's runs; their stages are in ``_pipeline``."""

from __future__ import annotations

import functools
import pathlib
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TypeVar

import anyio

from ._config import IngesterOptions
from ._pipeline import explicit_processes, run_ingest
from ._procs import warm_up
from ._report import IngestReport
from ._s3.client import S3Handles, open_s3
from ._s3errors import endpoint_named
from ._stages import RunKind
from ._stream import DatasetFile, Landing, stream_files

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
        if explicit_processes(self.config) > 1 and not dry_run and landing is None:
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
