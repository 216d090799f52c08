"""The dataset directory on disk: state folder, temp files, safe targets, stats and deletes.

Everything in this module blocks: the event loop calls it through worker threads, or
inline while small-file writes stay quick (:mod:`aio_s3_ingest._transfer.writes`).
"""

from __future__ import annotations

import itertools
import os
import pathlib
import secrets
import shutil
from collections.abc import Iterable

from .._models import DiskState
from .._select import STATE_DIR_NAME
from ..errors import UnsafeKeyError

TEMP_SUFFIX = ".part"

# Data is written in pieces of this size, not a buffer at a time. The page cache sizes
# its folios by the write, so large writes get large folios; on a VM that hands free
# memory back to its host, those come from pages the host must fault in again, and large
# writes cost far more kernel time. Much smaller pieces cost more again. Chosen by
# measurement: benchmarks/README.md, "Design figures behind the code".
WRITE_BYTES = 64 * 1024


class DatasetLayout:
    """Paths of one dataset directory, and the only code that creates or removes them."""

    def __init__(self, root: pathlib.Path, shard: tuple[int, int] | None = None) -> None:
        self.root = root
        self.state_dir = root / STATE_DIR_NAME
        if shard is not None:  # each shard's own manifest, lock and temp files
            self.state_dir = self.state_dir / f"shard-{shard[0]}-of-{shard[1]}"
        self._shared = shard is not None
        self.temp_dir = self.state_dir / "tmp"
        self.lock_path = self.state_dir / "lock"
        self._real_root = ""
        self._checked_folders: set[pathlib.Path] = set()
        # Temp names: one random prefix per layout (so per process), then a counter; a
        # random name per file cost a getrandom call each.
        self._temp_prefix = secrets.token_hex(8)
        self._temp_numbers = itertools.count()

    def create(self) -> None:
        """Make the dataset, state and temp folders; remember where the root really is."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        self._real_root = os.path.realpath(self.root)

    def first_missing(self) -> pathlib.Path | None:
        """The highest folder :meth:`create` would make (None: they all exist)."""
        missing = None
        for folder in (self.temp_dir, *self.temp_dir.parents):
            if folder.exists():
                break
            missing = folder
        return missing

    def remove_made(self, made_from: pathlib.Path) -> None:
        """Undo :meth:`create` for a run that stopped before any file landed: the state
        folder if the run made it, then each folder it made up to ``made_from``, only
        while empty (another run may have put something there since)."""
        made = [self.temp_dir, *self.temp_dir.parents]
        made = made[: made.index(made_from) + 1]
        if self.state_dir in made:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        for folder in made:
            try:
                folder.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                return

    def ignores_case(self) -> bool:
        """Whether the dataset's filesystem treats names differing by case as one."""
        probe = self.state_dir / f"Case-Probe-{secrets.token_hex(4)}"
        probe.touch()
        try:
            return (probe.parent / probe.name.lower()).exists()
        finally:
            probe.unlink(missing_ok=True)

    def ignores_case_without_writing(self) -> bool:
        """The same question for a dry run: compare an existing folder with its name's
        case swapped (False when no folder on the way has a name with letters)."""
        root = self.root.absolute()  # a relative root's parents end in '.', with no name
        for folder in (root, *root.parents):
            if folder.name == folder.name.swapcase() or not folder.exists():
                continue
            swapped = folder.with_name(folder.name.swapcase())
            try:
                return os.path.samefile(folder, swapped)
            except OSError:
                return False
        return False

    def clear_temp(self) -> int:
        """Remove temp files a killed run left behind (call only under the lock)."""
        removed = 0
        for entry in os.scandir(self.temp_dir):
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(TEMP_SUFFIX):
                os.unlink(entry.path)
                removed += 1
        return removed

    def stat_files(self, relpaths: Iterable[str]) -> dict[str, DiskState | None]:
        """Size and mtime of each path, None where it is missing or not a regular file."""
        states: dict[str, DiskState | None] = {}
        root = os.fspath(self.root)  # joined as strings: a Path per file costs more than its stat
        for relpath in relpaths:
            try:
                st = os.stat(os.path.join(root, relpath), follow_symlinks=False)
            except OSError:
                states[relpath] = None
                continue
            regular = (st.st_mode & 0o170000) == 0o100000
            states[relpath] = DiskState(st.st_size, st.st_mtime_ns) if regular else None
        return states

    def target(self, relpath: str, key: str) -> pathlib.Path:
        """The final path of ``relpath``, its folders created, refused if it leaves the root."""
        final = self.root / relpath
        if final.parent in self._checked_folders:
            return final  # checked and created earlier in this run
        existing = final.parent
        while not existing.exists():
            existing = existing.parent
        if not self.is_inside(os.path.realpath(existing)):
            raise UnsafeKeyError({key: "its folder resolves outside the dataset directory"})
        final.parent.mkdir(parents=True, exist_ok=True)
        self._checked_folders.add(final.parent)
        return final

    def new_temp(
        self, size: int, *, data: bytes | bytearray | memoryview | None = None
    ) -> pathlib.Path:
        """A fresh temp file holding ``data``, or pre-sized so ranges can land at offsets."""
        path, fd = self.open_temp()
        try:
            if data is None:
                os.ftruncate(fd, size)
            else:
                write_all(fd, data)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)
        return path

    def open_temp(self) -> tuple[pathlib.Path, int]:
        """A fresh, empty temp file and a descriptor to write it (the caller closes it)."""
        path = self.temp_dir / f"{self._temp_prefix}-{next(self._temp_numbers)}{TEMP_SUFFIX}"
        return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

    def delete(self, relpaths: Iterable[str]) -> list[str]:
        """Delete tracked files that left the selection, and folders they leave empty."""
        deleted = []
        for relpath in relpaths:
            path = self.root / relpath
            if not self.is_inside(os.path.realpath(path.parent)):
                continue  # a symlinked folder leads outside: never delete there
            if path.is_symlink() or path.is_file():
                path.unlink()
                deleted.append(relpath)
            self._prune_empty_parents(path.parent)
        return deleted

    def is_inside(self, real_path: str) -> bool:
        root = self._real_root or os.path.realpath(self.root)
        return real_path == root or real_path.startswith(root.rstrip(os.sep) + os.sep)

    def _prune_empty_parents(self, folder: pathlib.Path) -> None:
        if self._shared:
            return  # another shard may be about to put a file there
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return  # not empty, or already gone: stop climbing
            folder = folder.parent


def pieces(data: bytes | bytearray | memoryview) -> list[memoryview]:
    """``data`` in slices of :data:`WRITE_BYTES`, for one ``writelines``."""
    view = memoryview(data)
    return [view[start : start + WRITE_BYTES] for start in range(0, len(view), WRITE_BYTES)]


def write_all(fd: int, data: bytes | bytearray | memoryview, offset: int | None = None) -> None:
    """All of ``data`` to ``fd``, at ``offset`` if given, in slices of :data:`WRITE_BYTES`."""
    for piece in pieces(data):
        while piece:
            if offset is None:
                written = os.write(fd, piece)
            else:
                written = os.pwrite(fd, piece, offset)
                offset += written
            piece = piece[written:]
