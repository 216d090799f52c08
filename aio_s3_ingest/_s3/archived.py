"""Archived objects (GLACIER, DEEP_ARCHIVE) are refused in the plan, before any GET.

The listing names each object's storage class; a GET of an archived object that was not
restored only fails with InvalidObjectState. One HEAD per archived object to fetch tells a
restored copy (``x-amz-restore: ongoing-request="false"``) from one that is not.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from .._config import IngestConfig
from .._log import logger
from .._models import WantedFile
from .._run import Run, botocore_call
from .._s3errors import s3_errors
from ..errors import IngestError, ObjectArchivedError
from .client import S3Handles

_NAMED_IN_LOG = 20


async def refuse_archived(
    s3: S3Handles, config: IngestConfig, archived: Sequence[WantedFile], run: Run
) -> dict[str, Exception]:
    """Which of the ``archived`` files to fetch are not restored (by key), and why each
    is left."""
    if not archived:
        return {}
    bucket = config.s3_bucket_name
    refused: dict[str, Exception] = {}
    limit = anyio.Semaphore(config.max_concurrent_files)

    async def check(item: WantedFile) -> None:
        key = item.obj.key
        async with limit:
            try:
                if not await _is_restored(s3, bucket, key, run):
                    refused[key] = ObjectArchivedError(key, item.obj.storage_class)
            except IngestError as exc:
                refused[key] = exc

    async with anyio.create_task_group() as group:
        for item in archived:
            group.start_soon(check, item)
    _warn(refused)
    return refused


async def _is_restored(s3: S3Handles, bucket: str, key: str, run: Run) -> bool:
    with s3_errors(bucket=bucket, key=key), botocore_call(run):
        client = await s3.client()
        response = await client.head_object(Bucket=bucket, Key=key)
    return 'ongoing-request="false"' in response.get("Restore", "")


def _warn(refused: dict[str, Exception]) -> None:
    if not refused:
        return
    named = sorted(refused)[:_NAMED_IN_LOG]
    shown = ", ".join(
        f"{key} ({exc.storage_class})" if isinstance(exc, ObjectArchivedError) else key
        for key, exc in ((key, refused[key]) for key in named)
    )
    more = f" and {len(refused) - len(named)} more" if len(refused) > len(named) else ""
    logger.warning(
        "skipping %d archived object(s) that must be restored before they can be fetched: "
        "%s%s; the other files are fetched",
        len(refused),
        shown,
        more,
    )
