"""Partial files and their journals: what a later run may trust, and what it throws away."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

from aio_s3_ingest._local.layout import DatasetLayout
from aio_s3_ingest._local.partials import PartialFiles, journaled_ranges
from aio_s3_ingest._models import ObjectInfo

MiB = 1024 * 1024
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _obj(key: str = "data/big.bin", size: int = 16 * MiB, etag: str = '"abc"') -> ObjectInfo:
    return ObjectInfo(key=key, size=size, etag=etag, last_modified=WHEN)


@pytest.fixture(name="layout")
def layout_fixture(tmp_path: pathlib.Path) -> DatasetLayout:
    layout = DatasetLayout(tmp_path / "ds")
    layout.create()
    return layout


def _files(layout: DatasetLayout, boot: str | None = "boot-1") -> PartialFiles:
    return PartialFiles(layout, "bucket", boot, min_size=8 * MiB)


def _left(layout: DatasetLayout) -> list[str]:
    return sorted(path.suffix for path in layout.temp_dir.iterdir())


def test_journal_lines_are_merged_and_a_line_cut_short_is_ignored() -> None:
    """Complete lines count, in any order, overlapping or touching; the last piece has no
    newline (the kill came mid-write) and is not trusted."""
    lines = b"8 12\n0 4\n4 6\n10 14\n20 2"
    assert journaled_ranges(lines, 100) == [(0, 6), (8, 14)]


@pytest.mark.parametrize(
    "bad",
    [b"7 x\n", b"5 5\n", b"-1 3\n", b"90 101\n", b"1 2 3\n", b"\n"],
    ids=["not-a-number", "empty-range", "negative", "past-the-end", "three-fields", "blank"],
)
def test_nothing_after_a_line_that_is_not_a_range_inside_the_object_is_trusted(
    bad: bytes,
) -> None:
    assert journaled_ranges(b"0 10\n" + bad + b"20 30\n", 100) == [(0, 10)]


def test_missing_ranges_are_the_split_minus_what_is_done(layout: DatasetLayout) -> None:
    partial = _files(layout).open(_obj(size=100 * MiB))
    partial.done = [(0, 5), (10, 20), (35, 40)]
    assert partial.missing([(0, 25), (25, 50)]) == [(5, 10), (20, 25), (25, 35), (40, 50)]
    assert partial.missing([(10, 20)]) == []
    partial.discard()


def test_a_fresh_partial_is_pre_sized_and_its_journal_holds_only_a_header(
    layout: DatasetLayout,
) -> None:
    partial = _files(layout).open(_obj())
    assert partial.path.stat().st_size == 16 * MiB
    assert partial.journal is not None
    assert partial.journal.read_bytes().count(b"\n") == 1
    assert partial.done == []
    assert partial.resumed_bytes == 0
    partial.keep()
    assert _left(layout) == [".partial", ".ranges"]


def test_ranges_journaled_before_a_stop_are_what_the_next_open_trusts(
    layout: DatasetLayout,
) -> None:
    first = _files(layout).open(_obj())
    first.record(0, 4 * MiB)
    first.record(8 * MiB, 10 * MiB)
    first.keep()
    again = _files(layout).open(_obj())
    assert again.done == [(0, 4 * MiB), (8 * MiB, 10 * MiB)]
    assert again.resumed_bytes == 6 * MiB
    again.record(4 * MiB, 8 * MiB)  # appended after the earlier lines
    again.keep()
    assert _files(layout).open(_obj()).done == [(0, 10 * MiB)]


@pytest.mark.parametrize(
    "change",
    ["another-boot", "data-file-gone", "data-file-resized", "header-damaged"],
)
def test_a_partial_that_cannot_be_trusted_starts_over(layout: DatasetLayout, change: str) -> None:
    """A journal from before a reboot (its writes may never have reached the disk), one
    whose data file went or changed size, or whose header does not parse: nothing is
    trusted, and the old lines are gone."""
    first = _files(layout).open(_obj())
    first.record(0, 8 * MiB)
    first.keep()
    assert first.journal is not None
    if change == "data-file-gone":
        first.path.unlink()
    elif change == "data-file-resized":
        first.path.write_bytes(b"short")
    elif change == "header-damaged":
        first.journal.write_bytes(b"{not json\n0 8388608\n")
    boot = "boot-2" if change == "another-boot" else "boot-1"
    again = _files(layout, boot).open(_obj())
    assert again.done == []
    assert again.path.stat().st_size == 16 * MiB
    assert again.journal is not None
    assert again.journal.read_bytes().count(b"\n") == 1


def test_another_etag_is_another_partial(layout: DatasetLayout) -> None:
    first = _files(layout).open(_obj(etag='"v1"'))
    first.record(0, 8 * MiB)
    first.keep()
    assert _files(layout).open(_obj(etag='"v2"')).done == []


@pytest.mark.parametrize("why", ["small-object", "no-boot-id"])
def test_a_partial_that_cannot_be_resumed_is_a_plain_temp_file_removed_on_stop(
    layout: DatasetLayout, why: str
) -> None:
    """Objects under ``min_size``, and every object where the system names no boot
    (so a power loss could not be told from a kill), restart each run."""
    files = _files(layout, None if why == "no-boot-id" else "boot-1")
    partial = files.open(_obj(size=1 * MiB if why == "small-object" else 16 * MiB))
    assert partial.journal is None
    partial.record(0, 1024)  # nothing to journal into
    assert _left(layout) == [".part"]
    partial.keep()
    assert _left(layout) == []


def test_finished_and_discarded_partials_leave_nothing(layout: DatasetLayout) -> None:
    done = _files(layout).open(_obj(key="a"))
    done.path.rename(layout.root / "a")  # what finalize does with it
    done.finished()
    _files(layout).open(_obj(key="b")).discard()
    assert _left(layout) == []


def test_prune_keeps_only_partials_of_objects_still_to_fetch_and_large_enough(
    layout: DatasetLayout,
) -> None:
    files = _files(layout)
    for key in ("stays", "left-the-selection", "changed"):
        files.open(_obj(key=key)).keep()
    (layout.temp_dir / "unrelated.txt").write_text("not ours")
    wanted = [_obj(key="stays"), _obj(key="changed", etag='"new"')]
    assert files.prune(wanted) == 2
    assert _left(layout) == [".partial", ".ranges", ".txt"]
    assert PartialFiles(layout, "bucket", "boot-1", min_size=32 * MiB).prune(wanted) == 1
    assert _left(layout) == [".txt"]
