"""Local files read back against the checksums the manifest recorded for them.

Size and mtime tell a kept file is unchanged only as far as they go: an edit in place
that keeps both, or bits that rot on disk, pass. ``verify_local=True`` re-hashes every
file the plan would keep against the checksum it was verified with when it landed, and
moves a file that no longer matches (or can no longer be read) to the files to fetch.
Files recorded without a checksum, or with a composite one (its parts' bounds are not
kept), cannot be re-checked and are kept as before.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping

import anyio

from .._integrity.algorithms import usable
from .._integrity.digest import b64, file_digest
from .._integrity.expected import Checksum
from .._log import logger
from .._models import FileRecord, Plan, WantedFile

# Files re-hashed at once: each takes a worker thread while it reads.
_AT_ONCE = 4


async def recheck_kept(root: pathlib.Path, plan: Plan, records: Mapping[str, FileRecord]) -> Plan:
    """``plan`` with the kept files that fail their recorded checksum moved to fetch."""
    failed: set[str] = set()
    limiter = anyio.CapacityLimiter(_AT_ONCE)

    async def check(item: WantedFile) -> None:
        async with limiter:
            if not await _still_matches(root / item.relpath, records[item.relpath]):
                failed.add(item.relpath)

    async with anyio.create_task_group() as group:
        for item in plan.to_keep:
            group.start_soon(check, item)
    if not failed:
        return plan
    refetch = tuple(item for item in plan.to_keep if item.relpath in failed)
    return dataclasses.replace(
        plan,
        to_fetch=plan.to_fetch + refetch,
        to_keep=tuple(item for item in plan.to_keep if item.relpath not in failed),
    )


async def _still_matches(path: pathlib.Path, record: FileRecord) -> bool:
    """False if the file's bytes no longer give its recorded checksum (or cannot be read)."""
    try:
        checksum = Checksum.parse(record.checksum) if record.checksum else None
    except ValueError:  # written by a later version, say: not ours to judge
        logger.debug("%s: recorded checksum %r not understood; kept", path, record.checksum)
        return True
    algorithm = usable(checksum.algorithm) if checksum and not checksum.parts else None
    if checksum is None or algorithm is None or not record.size:
        return True
    try:
        got = b64(await file_digest(algorithm, path, record.size))
    except (OSError, EOFError) as exc:
        logger.warning("%s cannot be read back (%s); fetching it again", path, exc)
        return False
    if got != checksum.value:
        logger.warning(
            "%s no longer has its recorded %s checksum (edited or damaged on disk); "
            "fetching it again",
            path,
            checksum.algorithm,
        )
        return False
    return True
