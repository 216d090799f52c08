"""Planning (``_plan``): what a run fetches, keeps and deletes, given S3, records and disk."""

from __future__ import annotations

import pytest

from aio_s3_ingest._models import DiskState, FileRecord
from tests._selection import T0, chosen, make_plan, record_of, wanted


def test_plan_fetches_everything_on_first_run() -> None:
    """With no records, every wanted file is fetched and nothing is deleted."""
    items = [wanted("a", size=5), wanted("b", size=7)]
    plan = make_plan(chosen(items), {}, {}, force=False)
    assert plan.to_fetch == tuple(items)
    assert plan.to_keep == ()
    assert plan.to_delete == ()
    assert plan.bytes_to_fetch == 12


def test_plan_keeps_current_files() -> None:
    """A file whose record matches S3 and whose disk size/mtime match the record is kept."""
    item = wanted("a", size=5)
    plan = make_plan(
        chosen([item]), {"a": record_of(item)}, {"a": DiskState(5, 1_000)}, force=False
    )
    assert plan.to_keep == (item,)
    assert plan.to_fetch == ()
    assert plan.bytes_to_fetch == 0


@pytest.mark.parametrize(
    ("record_change", "disk"),
    [
        ({"etag": '"e2"'}, DiskState(5, 1_000)),
        ({"size": 6}, DiskState(6, 1_000)),
        ({"key": "old/a"}, DiskState(5, 1_000)),
        ({}, DiskState(4, 1_000)),
        ({}, DiskState(5, 2_000)),
        ({}, None),
    ],
    ids=["etag-changed", "size-changed", "other-key", "disk-size", "disk-mtime", "disk-missing"],
)
def test_plan_refetches_stale_files(
    record_change: dict[str, object], disk: DiskState | None
) -> None:
    """A changed object, or a local file edited, truncated or removed, is fetched again."""
    item = wanted("a", size=5)
    fields = {
        "key": item.obj.key,
        "size": 5,
        "etag": item.obj.etag,
        "last_modified": T0.isoformat(),
        "mtime_ns": 1_000,
    }
    record = FileRecord(**{**fields, **record_change})  # type: ignore[arg-type]
    plan = make_plan(chosen([item]), {"a": record}, {"a": disk}, force=False)
    assert plan.to_fetch == (item,)
    assert plan.to_keep == ()


def test_plan_refetches_when_disk_state_is_unknown() -> None:
    """A tracked path absent from the disk map counts as missing."""
    item = wanted("a")
    assert make_plan(chosen([item]), {"a": record_of(item)}, {}, force=False).to_fetch == (item,)


def test_plan_force_fetches_current_files_too() -> None:
    """force=True fetches every wanted file even when the cache is current."""
    item = wanted("a", size=5)
    plan = make_plan(chosen([item]), {"a": record_of(item)}, {"a": DiskState(5, 1_000)}, force=True)
    assert plan.to_fetch == (item,)
    assert plan.to_keep == ()


def test_plan_deletes_only_tracked_paths_that_left_the_selection() -> None:
    """Tracked paths no longer wanted are deleted, sorted; untracked files are never listed."""
    keep = wanted("keep")
    records = {
        "keep": record_of(keep),
        "z-gone": record_of(wanted("z-gone")),
        "gone": record_of(wanted("gone")),
    }
    plan = make_plan(
        chosen([keep]),
        records,
        {"keep": DiskState(1, 1_000), "untracked": DiskState(1, 1)},
        force=False,
    )
    assert plan.to_delete == ("gone", "z-gone")
    assert plan.to_keep == (keep,)


def test_plan_force_still_deletes() -> None:
    """force=True does not keep files that left the selection."""
    records = {"gone": record_of(wanted("gone"))}
    assert make_plan(chosen([wanted("new")]), records, {}, force=True).to_delete == ("gone",)


def test_plan_leaves_tracked_files_outside_the_patterns_alone() -> None:
    """A tracked file whose object is still there but no longer matches is left, not deleted."""
    csv, parquet = wanted("a.csv"), wanted("b.parquet")
    records = {"a.csv": record_of(csv), "b.parquet": record_of(parquet)}
    disk = {"a.csv": DiskState(1, 1_000)}
    plan = make_plan(chosen([csv], parquet), records, disk, force=False)
    assert plan.unselected == ("b.parquet",)
    assert plan.to_delete == ()
    assert plan.to_keep == (csv,)


def test_plan_prune_unselected_deletes_them() -> None:
    """With prune_unselected, tracked files outside the patterns are deleted too."""
    csv, parquet = wanted("a.csv"), wanted("b.parquet")
    records = {"a.csv": record_of(csv), "b.parquet": record_of(parquet)}
    plan = make_plan(chosen([csv], parquet), records, {}, force=False, prune_unselected=True)
    assert plan.to_delete == ("b.parquet",)
    assert plan.unselected == ()


def test_plan_deletes_a_tracked_file_whose_key_now_maps_elsewhere() -> None:
    """A record whose key is present but lands at another path now (an old layout) is deleted."""
    moved = wanted("a.csv", key="data/a.csv")
    records = {"data/a.csv": record_of(moved)}
    plan = make_plan(chosen([moved]), records, {}, force=False)
    assert plan.to_delete == ("data/a.csv",)
    assert plan.to_fetch == (moved,)


def test_plan_deletes_unselected_files_in_the_way_of_wanted_ones() -> None:
    """A file left alone cannot stay where a wanted file needs its folder, nor below one."""
    below, folder = wanted("x/y", key="data/x/y"), wanted("f", key="data/f")
    new = [wanted("x", key="data/x"), wanted("f/g", key="data/f/g")]
    records = {"x/y": record_of(below), "f": record_of(folder)}
    plan = make_plan(chosen(new, below, folder), records, {}, force=False)
    assert plan.to_delete == ("f", "x/y")
    assert plan.unselected == ()
