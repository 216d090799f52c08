"""The last step of every fetched file: its temp file moved to the final path and journaled,
now or once the listing's checks have passed.

A run that downloads while it still lists cannot know yet whether the listing as a whole
is acceptable: a key met later may collide with a path fetched earlier, leave the
dataset, or fail the timestamp or manifest checks. Until the run opens the gate, each
finished file waits in its temp file, verified and with its record made; opening the
gate moves the waiting files into place, and every file after them goes straight
through. If a check fails, the waiting temp files are removed instead, so nothing of
the refused listing lands at a final path.

Files finish on the loop's thread and on worker threads alike, so the gate is guarded
by a lock. The waiting files are landed a batch at a time, where small files are
written (:class:`.writes.SmallWrites`): one worker thread renaming thousands of files
beside the loop holds the GIL and the temp folder's lock, which made the loop's own
writes look slow enough to move them all to threads.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .._models import FileRecord

Land = Callable[[pathlib.Path, str, FileRecord], None]
"""Moves a verified temp file into place as ``relpath`` and journals its record."""


@dataclass(frozen=True, slots=True)
class _Waiting:
    temp: pathlib.Path
    relpath: str
    record: FileRecord


class LandingGate:
    """Lands files at once while open; while closed, keeps them waiting in temp files."""

    def __init__(self, *, is_open: bool = True) -> None:
        self._lock = threading.Lock()
        self._open = is_open
        self._waiting: list[_Waiting] = []
        self.landed_any = False  # whether any file is at its final path through this gate
        # Waiting files that failed to land, each with its record and error: the fetch
        # that made them had already ended, so the run reports them as failed.
        self.failed: list[tuple[str, FileRecord, Exception]] = []

    @property
    def is_open(self) -> bool:
        return self._open

    def land(self, temp: pathlib.Path, relpath: str, record: FileRecord, land: Land) -> None:
        """Land the file now if the gate is open (an error is the caller's), else keep it
        for :meth:`open_some`."""
        with self._lock:
            if not self._open:
                self._waiting.append(_Waiting(temp, relpath, record))
                return
        land(temp, relpath, record)
        self.landed_any = True

    def open_some(self, land: Land, most: int) -> bool:
        """Land up to ``most`` waiting files (blocking); once none waits, open the gate to
        the rest and return True. A file that fails to land (a folder that leads out of
        the dataset, a write refused) loses its temp file and joins :attr:`failed`; the
        others land."""
        with self._lock:
            batch, self._waiting = self._waiting[:most], self._waiting[most:]
            if not batch:
                self._open = True
                return True
        for number, waiting in enumerate(batch):
            try:
                land(waiting.temp, waiting.relpath, waiting.record)
            except Exception as exc:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(waiting.temp)
                self.failed.append((waiting.relpath, waiting.record, exc))
                continue
            except BaseException:
                with self._lock:
                    self._waiting[:0] = batch[number:]
                raise
            self.landed_any = True
        return False

    def discard(self) -> int:
        """Remove the waiting temp files (blocking); returns how many there were."""
        with self._lock:
            batch, self._waiting = self._waiting, []
        for waiting in batch:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(waiting.temp)
        return len(batch)
