"""The local manifest's database on its own: what a save changes, and what a crash leaves."""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import pathlib
import sqlite3

import pytest

from aio_s3_ingest._local.manifest import LocalManifest
from aio_s3_ingest._models import FileRecord
from tests._manifest import read_manifest_at


def _record(number: int, checksum: str | None = "CRC32:AAAAAA==") -> FileRecord:
    key = f"data/f{number:05d}.csv"
    return FileRecord(
        key, number, f'"{number:032x}"', "2026-01-01T00:00:00+00:00", number, checksum
    )


def _records(count: int) -> dict[str, FileRecord]:
    return {f"f{n:05d}.csv": _record(n) for n in range(count)}


@pytest.fixture(name="state")
def state_fixture(tmp_path: pathlib.Path) -> pathlib.Path:
    state = tmp_path / ".aio-s3-ingest"
    state.mkdir()
    return state


def test_a_save_upserts_what_was_fetched_and_drops_what_was_deleted(state: pathlib.Path) -> None:
    """Rows not named by a save stay as they were; a changed one is replaced."""
    manifest = LocalManifest(state)
    manifest.save(_records(5), [])
    changed = _record(99, checksum=None)
    manifest.save({"f00001.csv": changed}, ["f00003.csv", "never-there.csv"])
    records = LocalManifest(state).load()
    assert sorted(records) == ["f00000.csv", "f00001.csv", "f00002.csv", "f00004.csv"]
    assert records["f00001.csv"] == changed
    assert records["f00002.csv"] == _record(2)


def test_the_journal_is_replayed_by_a_load_and_folded_in_by_a_save(state: pathlib.Path) -> None:
    """What a killed run journaled counts as recorded, and the next save stores it; a torn
    last line is ignored."""
    LocalManifest(state).save(_records(2), [])
    killed = LocalManifest(state)
    killed.open_journal()
    killed.record("late.csv", _record(7))
    killed.close_journal()
    with (state / "journal.jsonl").open("a") as journal:
        journal.write('{"path": "torn.csv", "key": "da')
    assert sorted(LocalManifest(state).load()) == ["f00000.csv", "f00001.csv", "late.csv"]
    LocalManifest(state).save({}, ["f00000.csv"])
    assert not (state / "journal.jsonl").exists()
    assert sorted(read_manifest_at(state)["files"]) == ["f00001.csv", "late.csv"]


def test_a_save_after_a_load_folds_in_what_the_load_found_journaled(state: pathlib.Path) -> None:
    """The run that loaded a killed run's journal stores those records with its own, and
    removes the journal, without reading it again."""
    killed = LocalManifest(state)
    killed.open_journal()
    killed.record("left-by-the-killed-run.csv", _record(1))
    killed.close_journal()
    manifest = LocalManifest(state)
    assert sorted(manifest.load()) == ["left-by-the-killed-run.csv"]
    manifest.open_journal()
    manifest.record("this-run.csv", _record(2))
    manifest.save({"this-run.csv": _record(2)}, [])
    assert not (state / "journal.jsonl").exists()
    assert sorted(read_manifest_at(state)["files"]) == [
        "left-by-the-killed-run.csv",
        "this-run.csv",
    ]


def test_a_failed_save_leaves_the_previous_rows_and_the_journal(state: pathlib.Path) -> None:
    """A save that fails half-way through its rows changes nothing: the transaction rolls
    back, and the journal stays for the next run."""
    LocalManifest(state).save(_records(3), [])
    manifest = LocalManifest(state)
    manifest.open_journal()
    manifest.record("new.csv", _record(5))
    manifest.close_journal()
    bad = FileRecord("data/bad", 1, '"e"', "2026-01-01T00:00:00+00:00", 1, object())  # type: ignore[arg-type]
    with pytest.raises(sqlite3.Error):
        manifest.save({"a.csv": _record(4), "bad.csv": bad}, ["f00000.csv"])
    assert sorted(read_manifest_at(state)["files"]) == ["f00000.csv", "f00001.csv", "f00002.csv"]
    assert sorted(LocalManifest(state).load()) == [
        "f00000.csv",
        "f00001.csv",
        "f00002.csv",
        "new.csv",
    ]


def _killed_mid_save(state: pathlib.Path) -> None:
    """In a child: rewrite every row inside a transaction, spill it into the database file
    (a one-page cache), and die before the commit."""
    with contextlib.closing(sqlite3.connect(state / "manifest.sqlite")) as db:
        db.execute("PRAGMA cache_size = 1")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE files SET etag = 'torn', size = size + 1")
        db.execute("DELETE FROM files WHERE path > 'f00100.csv'")
        os._exit(9)


def test_a_run_killed_mid_save_leaves_the_previous_state(
    state: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's rollback journal undoes a save a crash interrupted: the next writing run
    sees the rows as they were. A read-only look first (``plan()``) cannot roll back; it
    says so and counts no cache, rather than reading torn rows."""
    records = _records(3000)
    LocalManifest(state).save(records, [])
    child = multiprocessing.get_context("spawn").Process(target=_killed_mid_save, args=(state,))
    child.start()
    child.join(30)
    assert child.exitcode == 9
    assert (state / "manifest.sqlite-journal").exists()  # a hot journal: the crash is seen
    with caplog.at_level(logging.WARNING, logger="aio_s3_ingest"):
        assert LocalManifest(state).load(writable=False) == {}
    assert "a run stopped while saving it" in caplog.text
    assert LocalManifest(state).load() == records
    assert not (state / "manifest.sqlite-journal").exists()


def test_rows_of_another_program_are_checked(state: pathlib.Path) -> None:
    """A row with a path outside the dataset, or a field of the wrong type, makes the
    manifest unreadable (no cache), never a path to delete."""
    LocalManifest(state).save(_records(1), [])
    with contextlib.closing(sqlite3.connect(state / "manifest.sqlite")) as db, db:
        db.execute("UPDATE files SET size = 'big'")
    assert LocalManifest(state).load() == {}


def test_a_first_save_without_a_database_creates_it_from_the_json_manifest(
    state: pathlib.Path,
) -> None:
    """Version 2's manifest.json is read, merged with the save's changes, and removed."""
    legacy = {
        "format": "aio-s3-ingest.manifest",
        "version": 2,
        "files": {"old.csv": {**vars_of(_record(1)), "checksum": None}},
    }
    (state / "manifest.json").write_text(json.dumps(legacy))
    manifest = LocalManifest(state)
    assert manifest.load() == {"old.csv": _record(1, checksum=None)}
    manifest.save({"new.csv": _record(2)}, [])
    assert not (state / "manifest.json").exists()
    assert LocalManifest(state).load() == {
        "old.csv": _record(1, checksum=None),
        "new.csv": _record(2),
    }


def vars_of(record: FileRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in FileRecord._fields}
