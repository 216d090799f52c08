"""An advisory lock per dataset directory, so two runs never interleave their writes.

The operating system drops the lock when its holder dies, so a killed run never
blocks the next one.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from .._log import logger
from ..errors import LockTimeoutError

_POLL_SECONDS = 0.05

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@asynccontextmanager
async def dataset_lock(path: pathlib.Path, max_wait: float | None) -> AsyncIterator[None]:
    """Hold the lock file at ``path``; wait for it at most ``max_wait`` seconds (None: forever)."""
    fd = await anyio.to_thread.run_sync(lambda: os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
    try:
        try:
            with anyio.fail_after(max_wait):
                await _acquire(fd, path)
        except TimeoutError:
            raise LockTimeoutError(
                f"another run kept {path} locked for more than {max_wait} s; "
                "raise lock_timeout or wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


async def _acquire(fd: int, path: pathlib.Path) -> None:
    if _try_lock(fd):
        return
    logger.info("waiting for another run that holds %s", path)
    while not _try_lock(fd):  # noqa: ASYNC110 - the holder is another process: poll
        await anyio.sleep(_POLL_SECONDS)
