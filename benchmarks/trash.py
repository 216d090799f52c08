"""Emptying destinations between runs without making the next run pay for the deletion.

On an ext4 without a journal (this project's machine: ``/proc/fs/jbd2`` is empty) a new
file skips every free inode of its block group that was freed in the last minute, one
buffer lookup each (``recently_deleted`` in ``fs/ext4/ialloc.c``). Creating 2,000 files
right after 2,000 deletions cost about 1 ms of kernel time per file, for every client,
and more the more was deleted: `perf` put 36% of a small-file run in that scan. A run
on a machine that did not just delete thousands of files pays none of it.

So a finished download is moved aside (a rename: nothing freed) and flushed, and the
moved-aside files are deleted only when the disk runs short, or at the end; after a
deletion the next run waits until the freed inodes count as old again. Their pages are
dropped from the page cache as they are moved aside (``POSIX_FADV_DONTNEED``, clean after
the flush): kept, they filled the memory within a few cells, and every later write paid
for reclaiming it (s5cmd took 6 s instead of 1 for 1 GB).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

# fs/ext4/ialloc.c: RECENTCY_MIN, for inode table blocks already written back.
RECENT_SECONDS = 60.0


class Trash:
    """Moved-aside downloads under ``root``, deleted in bulk."""

    def __init__(self, root: Path, settle_seconds: float) -> None:
        self.root = root
        self.settle_seconds = settle_seconds
        self._quiet_at = 0.0

    def discard(self, path: Path) -> None:
        """Take ``path`` out of the way at once; its files are deleted later, their cached
        pages now."""
        if not path.exists():
            os.sync()
            return
        self.root.mkdir(parents=True, exist_ok=True)
        aside = self.root / uuid.uuid4().hex
        path.rename(aside)
        os.sync()
        for folder, _, names in os.walk(aside):
            for name in names:
                _drop_cached_pages(os.path.join(folder, name))

    def make_room(self, needed_bytes: int) -> None:
        """Delete the moved-aside files if the disk could not take ``needed_bytes`` more."""
        self.root.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no dest yet
        if shutil.disk_usage(self.root.parent).free < needed_bytes:
            self.purge()

    def purge(self) -> None:
        if self.root.exists():
            subprocess.run(["rm", "-rf", str(self.root)], check=True)
            os.sync()
            self._quiet_at = time.monotonic() + self.settle_seconds

    def settle(self) -> None:
        """Wait, if a deletion was recent, until its freed inodes no longer slow creation."""
        wait = self._quiet_at - time.monotonic()
        if wait > 0:
            print(f"    (waiting {wait:.0f} s after deleting old downloads; see trash.py)")
            time.sleep(wait)


def _drop_cached_pages(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return  # a symlink or something unreadable: nothing of ours to drop
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
