"""The local manifest: what this library put in the dataset directory, and in what state.

``manifest.sqlite`` in the hidden state folder holds one row per file. A run changes only
the rows of the files it fetched or deleted, in one transaction at its end, so a run that
keeps a million files writes nothing, and a crash leaves the previous state whole (SQLite's
rollback journal, every commit synced). Files verified during a run go to the journal
(:mod:`.journal`) first, line by line, so a killed run still knows what it finished:
loading replays the journal over the database, and the next save folds it in.

Version 3 is this database; versions 1 and 2 (:mod:`.legacy`) are still read. A database
that is damaged, of another version, or not ours counts as no cache (a WARNING says so),
and the next save replaces it.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping

from .._log import logger
from .._models import FileRecord
from .journal import Journal
from .legacy import FORMAT, LEGACY_NAME, read_legacy
from .records import FIELDS, checked_path

NAME = "manifest.sqlite"
VERSION = 3  # 1 and 2: manifest.json; 3: this database
_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID",
    "CREATE TABLE files (path TEXT PRIMARY KEY, key TEXT NOT NULL, size INTEGER NOT NULL,"
    " etag TEXT NOT NULL, last_modified TEXT NOT NULL, mtime_ns INTEGER NOT NULL,"
    " checksum TEXT) WITHOUT ROWID",
)
_UPSERT = f"INSERT OR REPLACE INTO files (path, {', '.join(FIELDS)}) VALUES ({', '.join('?' * 7)})"
_SELECT = f"SELECT path, {', '.join(FIELDS)} FROM files"
_MISTYPED = (
    "SELECT 1 FROM files WHERE typeof(path) != 'text' OR typeof(key) != 'text'"
    " OR typeof(size) != 'integer' OR typeof(etag) != 'text'"
    " OR typeof(last_modified) != 'text' OR typeof(mtime_ns) != 'integer'"
    " OR typeof(checksum) NOT IN ('text', 'null') LIMIT 1"
)


class NotOurs(ValueError):
    """The database is damaged, of another version, or not a manifest."""


class LocalManifest:
    """Reads and writes the records of one dataset directory's state folder."""

    def __init__(self, state_dir: pathlib.Path) -> None:
        self.path = state_dir / NAME
        self.legacy_path = state_dir / LEGACY_NAME
        self.journal = Journal(state_dir / "journal.jsonl")
        self._replayed: dict[str, FileRecord] | None = None  # what load() found journaled

    def load(self, *, writable: bool = True) -> dict[str, FileRecord]:
        """The recorded files by relative path, the journal's included; a damaged manifest
        counts as empty. Without ``writable`` nothing is written, not even the rollback
        of a save a crash interrupted: such a manifest counts as empty until a writing
        run rolls it back."""
        records = self._stored(writable)
        self._replayed = self.journal.read()
        records.update(self._replayed)
        return records

    def open_journal(self) -> None:
        self.journal.open()

    def record(self, relpath: str, record: FileRecord) -> None:
        """Journal one verified file (from worker threads and the loop's)."""
        self.journal.append(relpath, record)

    def close_journal(self) -> None:
        self.journal.close()

    def save(self, fetched: Mapping[str, FileRecord], deleted: Iterable[str]) -> None:
        """Fold the journal and ``fetched`` into the database and drop the ``deleted``
        paths, in one transaction; then remove the journal (and a version 1 or 2
        manifest, now moved into the database).

        After a :meth:`load`, the journal is not read again: what it held then came from
        an earlier run, and every line this run added is one of ``fetched``."""
        earlier = self.journal.read() if self._replayed is None else self._replayed
        changed = earlier | dict(fetched)
        gone = list(deleted)
        if not self._updated(changed, gone):
            self._rebuild(changed, gone)
        self.journal.remove()
        self.legacy_path.unlink(missing_ok=True)

    def _updated(self, changed: Mapping[str, FileRecord], gone: list[str]) -> bool:
        """Whether the database was there, ours, and now holds the changes."""
        if not self.path.exists():
            return False
        try:
            with _connected(self.path, "rw") as db:
                _check_format(db)
                _apply(db, changed, gone)
        except (NotOurs, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.OperationalError):  # a full disk, a lock, I/O: not damage
                raise OSError(f"cannot save the local manifest {self.path}: {exc}") from exc
            return False
        return True

    def _stored(self, writable: bool) -> dict[str, FileRecord]:
        if not writable and _size(self.path.with_name(NAME + "-journal")):
            logger.warning(
                "local manifest %s: a run stopped while saving it, and only a writing run "
                "restores it; treating the dataset as not cached for now",
                self.path,
            )
            return {}
        try:
            if not self.path.exists():
                return read_legacy(self.legacy_path) or {}
            with _connected(self.path, "rw" if writable else "ro") as db:
                _check_format(db)
                return _rows(db)
        except (ValueError, TypeError, KeyError, sqlite3.Error) as exc:
            logger.warning(
                "local manifest %s is unreadable (%s); treating the dataset as not cached",
                self.path if self.path.exists() else self.legacy_path,
                exc,
            )
            return {}

    def _rebuild(self, changed: Mapping[str, FileRecord], gone: list[str]) -> None:
        """A new database in place of a missing or unusable one: the records of a version
        1 or 2 manifest if one is readable, with this run's changes."""
        try:
            records = read_legacy(self.legacy_path) if not self.path.exists() else None
        except (ValueError, TypeError, KeyError):
            records = None
        records = {**(records or {}), **changed}
        temp = self.path.with_name(f"{NAME}.{os.getpid()}.tmp")
        try:
            with _connected(temp, "rwc") as db:
                for statement in _SCHEMA:
                    db.execute(statement)
                db.executemany("INSERT INTO meta VALUES (?, ?)", _meta())
                _apply(db, records, gone)
            for leftover in ("-journal", "-wal", "-shm"):  # the old file's, never this one's
                self.path.with_name(NAME + leftover).unlink(missing_ok=True)
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def _connected(path: pathlib.Path, mode: str) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode (transactions are explicit), closed after use;
    ``mode``: SQLite's ``ro``, ``rw`` (the file must exist) or ``rwc``."""
    uri = f"{path.absolute().as_uri()}?mode={mode}"
    db = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = FULL")
        yield db
    finally:
        db.close()


def _meta() -> list[tuple[str, object]]:
    return [("format", FORMAT), ("version", VERSION)]


def _check_format(db: sqlite3.Connection) -> None:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"meta", "files"} <= tables:
        raise NotOurs("not an aio-s3-ingest manifest")
    meta = dict(db.execute("SELECT name, value FROM meta"))
    if meta.get("format") != FORMAT:
        raise NotOurs("not an aio-s3-ingest manifest")
    if meta.get("version") != VERSION:
        raise NotOurs(f"unsupported manifest version {meta.get('version')!r}")


_record = FileRecord._make


def _rows(db: sqlite3.Connection) -> dict[str, FileRecord]:
    """Every row as a record, once SQLite has checked each field's type in one pass
    (the schema does not enforce them, and a row from elsewhere may be anything)."""
    if db.execute(_MISTYPED).fetchone() is not None:
        raise TypeError("a row holds a field of the wrong type")
    cursor = db.execute(_SELECT)
    try:  # a path refused mid-way must not leave the read open, holding its lock
        return {checked_path(row[0]): _record(row[1:]) for row in cursor}
    finally:
        cursor.close()


def _apply(db: sqlite3.Connection, changed: Mapping[str, FileRecord], gone: list[str]) -> None:
    """Upsert ``changed`` and delete ``gone`` in one transaction (none if neither has any)."""
    if not changed and not gone:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany(_UPSERT, ((path, *record) for path, record in changed.items()))
        db.executemany("DELETE FROM files WHERE path = ?", ((path,) for path in gone))
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


def _size(path: pathlib.Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
