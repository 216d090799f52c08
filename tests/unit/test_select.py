"""Pure unit tests of selection (``_select``) and planning (``_plan``): no server, no disk."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aio_s3_ingest import (
    ManifestError,
    NoMatchingFilesError,
    TimestampToleranceError,
    UnsafeKeyError,
)
from aio_s3_ingest._models import DiskState, FileRecord, ObjectInfo, Selection, WantedFile
from aio_s3_ingest._plan import make_plan
from aio_s3_ingest._s3manifest import (
    ManifestEntry,
    apply_s3_manifest,
    find_manifest,
    manifest_keys,
    parse_s3_manifest,
)
from aio_s3_ingest._select import (
    base_of,
    check_safe,
    check_timestamps,
    matches,
    relative_path,
    require_matches,
    select,
    skipped_folder_markers,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def obj(key: str, size: int = 1, etag: str = '"e1"', when: dt.datetime = T0) -> ObjectInfo:
    """An object as a listing would describe it."""
    return ObjectInfo(key=key, size=size, etag=etag, last_modified=when)


def wanted(
    relpath: str, key: str | None = None, *, size: int = 1, when: dt.datetime = T0
) -> WantedFile:
    """A selected object landing at ``relpath`` (its key defaults to ``data/<relpath>``)."""
    return WantedFile(relpath=relpath, obj=obj(key or f"data/{relpath}", size=size, when=when))


def chosen(items: list[WantedFile], *unselected: WantedFile) -> Selection:
    """The selection of ``items``, with ``unselected`` objects present in S3 beside them."""
    present = {item.obj.key: item.relpath for item in (*items, *unselected)}
    return Selection(wanted=list(items), present=present, skipped={})


def record_of(item: WantedFile, mtime_ns: int = 1_000) -> FileRecord:
    """The local-manifest record a verified fetch of ``item`` would leave."""
    o = item.obj
    return FileRecord(
        key=o.key,
        size=o.size,
        etag=o.etag,
        last_modified=o.last_modified.isoformat(),
        mtime_ns=mtime_ns,
    )


# --- key -> relative path -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "base"),
    [
        ("data/", "data/"),
        ("data/file_", "data/"),
        ("a/b/c", "a/b/"),
        ("data", ""),
        ("", ""),
    ],
)
def test_base_of_is_the_folder_of_the_prefix(prefix: str, base: str) -> None:
    """A prefix ending inside a name maps relative to the folder that contains it."""
    assert base_of(prefix) == base


@pytest.mark.parametrize(
    ("key", "prefix", "relpath"),
    [
        ("data/sub/a.csv", "data/", "sub/a.csv"),
        ("data/file_1.csv", "data/file_", "file_1.csv"),
        ("a.csv", "", "a.csv"),
        # a prefix without its trailing '/' names a folder for the keys that continue it so
        ("test-prefix/test-file1.csv", "test-prefix", "test-file1.csv"),
        ("test-prefix/nested/test-file2.csv", "test-prefix", "nested/test-file2.csv"),
        ("kaggle/a/indian-food-101/indian_food.csv", "kaggle/a/indian-food-101", "indian_food.csv"),
        # ... and keys that continue it inside a name map below the prefix's folder
        ("data2/y", "data", "data2/y"),
        ("data", "data", "data"),
        ("exports/sales-2026.csv", "exports/sales", "sales-2026.csv"),
    ],
)
def test_relative_path_follows_the_prefix_rule(key: str, prefix: str, relpath: str) -> None:
    """``prefix/`` is stripped from keys that continue the prefix with '/', else its folder."""
    assert relative_path(key, prefix) == relpath


def test_select_maps_each_key_by_its_own_rule_under_one_prefix() -> None:
    """Prefix ``data``: ``data/x`` lands at ``x``, ``data2/y`` at ``data2/y``."""
    chosen = select([obj("data/x"), obj("data2/y"), obj("data/sub/z")], "data", ["*"])
    assert [(w.relpath, w.obj.key) for w in chosen] == [
        ("data2/y", "data2/y"),
        ("sub/z", "data/sub/z"),
        ("x", "data/x"),
    ]


def test_check_safe_refuses_two_keys_mapping_to_one_path_naming_both() -> None:
    """Prefix ``data``: ``data/data2/y`` and ``data2/y`` both map to ``data2/y``: both refused."""
    chosen = select([obj("data/data2/y"), obj("data2/y"), obj("data/ok")], "data", ["*"])
    with pytest.raises(UnsafeKeyError) as info:
        check_safe(chosen)
    assert info.value.keys == ["data/data2/y", "data2/y"]
    assert "'data2/y'" in info.value.problems["data/data2/y"]
    assert "'data/data2/y'" in info.value.problems["data2/y"]
    assert "same local path" in str(info.value)


# --- patterns --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relpath", "patterns", "expected"),
    [
        ("a.csv", ["*.csv"], True),
        ("sub/a.csv", ["*.csv"], True),
        ("sub/a.csv", ["a.csv"], True),
        ("sub/a.csv", ["sub/*.csv"], True),
        ("a.csv", ["sub/*.csv"], False),
        ("other/a.csv", ["sub/*.csv"], False),
        ("sub/a.json", ["*.csv"], False),
        ("sub/a.json", ["*.csv", "*.json"], True),
        ("a.CSV", ["*.csv"], False),
        ("file_7.csv", ["file_?.csv"], True),
        ("x/file_7.csv", ["[fg]ile_*"], True),
    ],
)
def test_matches(relpath: str, patterns: list[str], expected: bool) -> None:
    """fnmatch on the relative path; a pattern without '/' also tries the basename; any wins."""
    assert matches(relpath, patterns) is expected


def test_select_skips_folder_markers_and_sorts() -> None:
    """Keys ending in '/' are folder markers and never selected; the result is sorted by path."""
    objects = [
        obj("data/z.csv"),
        obj("data/sub/"),
        obj("data/a.csv"),
        obj("data/"),
        obj("data/sub/b.csv"),
    ]
    chosen = select(objects, "data/", ["*"])
    assert [w.relpath for w in chosen] == ["a.csv", "sub/b.csv", "z.csv"]
    assert [w.obj.key for w in chosen] == ["data/a.csv", "data/sub/b.csv", "data/z.csv"]


def test_select_applies_the_patterns_to_relative_paths() -> None:
    """A '/'-pattern is matched against the path relative to the prefix, not the full key."""
    objects = [obj("data/sub/a.csv"), obj("data/a.csv"), obj("data/sub/b.json")]
    assert [w.relpath for w in select(objects, "data/", ["sub/*.csv"])] == ["sub/a.csv"]
    assert select(objects, "data/", ["data/sub/*.csv"]) == []


def test_require_matches_raises_a_file_not_found_error_naming_the_prefix() -> None:
    """No match is a NoMatchingFilesError, also a FileNotFoundError, naming where and what."""
    with pytest.raises(FileNotFoundError) as info:
        require_matches([], "s3://bkt/data/", ["*.csv"])
    assert isinstance(info.value, NoMatchingFilesError)
    assert "s3://bkt/data/" in str(info.value)
    assert "*.csv" in str(info.value)
    require_matches([wanted("a.csv")], "s3://bkt/data/", ["*.csv"])


# --- safe paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relpath", "reason"),
    [
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("..", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a\0b", "NUL"),
        ("a//b", "empty"),
        ("./a", "'.'"),
        ("a/./b", "'.'"),
        ("a/", "empty"),
        ("", "empty"),
        ("x" * 256, "255 bytes"),
        ("sub/" + "é" * 128, "255 bytes"),
        (".aio-s3-ingest/manifest.json", "reserved"),
        (".aio-s3-ingest", "reserved"),
    ],
)
def test_check_safe_refuses_unsafe_paths(relpath: str, reason: str) -> None:
    """Each kind of unsafe relative path is refused, with the key and the reason in the error."""
    key = f"data/{relpath}"
    with pytest.raises(UnsafeKeyError) as info:
        check_safe([wanted("ok.csv"), WantedFile(relpath=relpath, obj=obj(key))])
    assert info.value.keys == [key]
    assert reason in info.value.problems[key]
    assert repr(key) in str(info.value)
    assert "nothing was written" in str(info.value)


@pytest.mark.parametrize(
    "relpath",
    [
        "x" * 255,
        "é" * 127 + "x",
        "sub/.aio-s3-ingest/x",
        ".hidden",
        "a..b/c...d",
        "with space/and%20escapes",
        "ünïcødé/ファイル.csv",
    ],
)
def test_check_safe_accepts_unusual_but_safe_paths(relpath: str) -> None:
    """Long-but-legal names, dots inside names, and the reserved name below the root are fine."""
    check_safe([wanted(relpath)])


def test_check_safe_refuses_a_path_that_is_both_file_and_folder() -> None:
    """``a`` and ``a/b`` cannot both exist on disk: the key below the file is refused."""
    items = [
        wanted("a", key="data/a"),
        wanted("a/b", key="data/a/b"),
        wanted("c/d/e", key="data/c/d/e"),
    ]
    with pytest.raises(UnsafeKeyError) as info:
        check_safe([*items, wanted("c/d", key="data/c/d")])
    assert set(info.value.keys) == {"data/a/b", "data/c/d/e"}
    assert "'data/a'" in info.value.problems["data/a/b"]
    assert "'data/c/d'" in info.value.problems["data/c/d/e"]


def test_check_safe_lists_every_problem_at_once() -> None:
    """All unsafe keys are reported together, sorted, not just the first one found."""
    items = [wanted("../x", key="k1"), wanted("/abs", key="k2"), wanted("fine", key="k3")]
    with pytest.raises(UnsafeKeyError) as info:
        check_safe(items)
    assert info.value.keys == ["k1", "k2"]
    assert str(info.value).startswith("2 key(s)")


# --- timestamps ------------------------------------------------------------------------------


def spread(*offsets: dt.timedelta) -> list[WantedFile]:
    """Wanted files modified at T0 + each offset, named f0, f1, ..."""
    return [wanted(f"f{i}", when=T0 + off) for i, off in enumerate(offsets)]


def test_check_timestamps_off_with_minus_one() -> None:
    """Tolerance -1 disables the check, however far apart the objects are."""
    check_timestamps(spread(dt.timedelta(0), dt.timedelta(days=3650)), -1)


def test_check_timestamps_single_object_and_empty() -> None:
    """One object (or none) has no spread, even at tolerance 0."""
    check_timestamps(spread(dt.timedelta(0)), 0)
    check_timestamps([], 0)


def test_check_timestamps_equal_times_pass_at_zero() -> None:
    """Objects modified at the same instant pass a tolerance of 0 hours."""
    check_timestamps(spread(dt.timedelta(0), dt.timedelta(0), dt.timedelta(0)), 0)


def test_check_timestamps_spread_equal_to_tolerance_passes() -> None:
    """The tolerance is inclusive: a spread of exactly the tolerance is accepted."""
    check_timestamps(spread(dt.timedelta(0), dt.timedelta(hours=2)), 2)
    check_timestamps(spread(dt.timedelta(0), dt.timedelta(minutes=30)), 0.5)


def test_check_timestamps_spread_beyond_tolerance_raises() -> None:
    """A spread one second over the tolerance raises, naming the oldest and newest objects."""
    items = spread(dt.timedelta(hours=1), dt.timedelta(0), dt.timedelta(hours=2, seconds=1))
    with pytest.raises(TimestampToleranceError) as info:
        check_timestamps(items, 2)
    message = str(info.value)
    assert "'data/f1'" in message  # oldest
    assert "'data/f2'" in message  # newest
    assert "'data/f0'" not in message


def test_check_timestamps_fractional_hours() -> None:
    """Fractional tolerances count in hours: 0.5 h refuses a 31-minute spread."""
    with pytest.raises(TimestampToleranceError):
        check_timestamps(spread(dt.timedelta(0), dt.timedelta(minutes=31)), 0.5)


def test_check_timestamps_zero_refuses_one_second() -> None:
    """A tolerance of 0 refuses objects modified one second apart."""
    with pytest.raises(TimestampToleranceError):
        check_timestamps(spread(dt.timedelta(seconds=1), dt.timedelta(0)), 0)


def test_check_timestamps_compares_instants_across_time_zones() -> None:
    """The same instant written in two time zones is no spread at all."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    items = [wanted("a", when=T0), wanted("b", when=T0.astimezone(plus_two))]
    check_timestamps(items, 0)


# --- S3 manifest -----------------------------------------------------------------------------


def manifest_body(*entries: object) -> bytes:
    """A Redshift-UNLOAD-style manifest document."""
    return json.dumps({"entries": list(entries)}).encode()


def test_parse_s3_manifest_reads_urls_and_lengths() -> None:
    """Each entry's URL splits into bucket and key; meta.content_length is optional."""
    body = manifest_body(
        {"url": "s3://bkt/data/a.csv", "meta": {"content_length": 12}},
        {"url": "s3://bkt/data/sub/b.csv", "mandatory": True},
        {"url": "s3://other/x", "meta": {}},
    )
    assert parse_s3_manifest("data/manifest", body) == [
        ManifestEntry(bucket="bkt", key="data/a.csv", content_length=12),
        ManifestEntry(bucket="bkt", key="data/sub/b.csv", content_length=None),
        ManifestEntry(bucket="other", key="x", content_length=None),
    ]


def test_parse_s3_manifest_accepts_no_entries() -> None:
    """An empty entries list is a valid (empty) manifest."""
    assert parse_s3_manifest("m", b'{"entries": []}') == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[]", "no 'entries' list"),
        (b'{"entries": {}}', "no 'entries' list"),
        (b'{"other": []}', "no 'entries' list"),
        (manifest_body("s3://bkt/a"), "entry 0"),
        (manifest_body({"url": "https://bkt/a"}), "'url'"),
        (manifest_body({"url": "s3://bucket-only"}), "'url'"),
        (manifest_body({"meta": {"content_length": 1}}), "'url'"),
        (manifest_body({"url": "s3://b/k", "meta": {"content_length": "12"}}), "content_length"),
        (manifest_body({"url": "s3://b/k", "meta": {"content_length": True}}), "content_length"),
        (manifest_body({"url": "s3://b/k"}, {"url": 5}), "entry 1"),
    ],
)
def test_parse_s3_manifest_rejects_malformed_documents(body: bytes, fragment: str) -> None:
    """A malformed manifest is a ManifestError naming the manifest key and what is wrong."""
    with pytest.raises(ManifestError) as info:
        parse_s3_manifest("data/manifest", body)
    assert "'data/manifest'" in str(info.value)
    assert fragment in str(info.value)


def test_apply_s3_manifest_keeps_only_listed_objects() -> None:
    """Only objects the manifest names remain candidates; sizes are checked when given."""
    listed = {o.key: o for o in (obj("data/a", size=3), obj("data/b", size=4), obj("data/c"))}
    entries = [ManifestEntry("bkt", "data/a", 3), ManifestEntry("bkt", "data/b", None)]
    chosen = apply_s3_manifest("data/manifest", entries, listed, "bkt")
    assert sorted(o.key for o in chosen) == ["data/a", "data/b"]


def test_apply_s3_manifest_dedups_repeated_entries() -> None:
    """An entry repeated in the manifest yields the object once."""
    listed = {"data/a": obj("data/a")}
    entries = [ManifestEntry("bkt", "data/a", None), ManifestEntry("bkt", "data/a", 1)]
    assert apply_s3_manifest("m", entries, listed, "bkt") == [listed["data/a"]]


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (ManifestEntry("bkt", "data/missing", None), "s3://bkt/data/missing is missing"),
        (ManifestEntry("bkt", "data/a", 99), "has 3 bytes, the manifest says 99"),
        (ManifestEntry("other", "data/a", None), "s3://other/data/a is in another bucket"),
    ],
)
def test_apply_s3_manifest_refuses_an_incomplete_dataset(
    entry: ManifestEntry, fragment: str
) -> None:
    """A missing object, a size mismatch or another bucket is a ManifestError naming the entry."""
    listed = {"data/a": obj("data/a", size=3)}
    with pytest.raises(ManifestError) as info:
        apply_s3_manifest("data/manifest", [entry], listed, "bkt")
    assert fragment in str(info.value)
    assert "'data/manifest'" in str(info.value)


def test_apply_s3_manifest_truncates_a_long_problem_list() -> None:
    """With many problems the message shows 20 and counts the rest."""
    entries = [ManifestEntry("bkt", f"data/m{i:02d}", None) for i in range(25)]
    with pytest.raises(ManifestError) as info:
        apply_s3_manifest("m", entries, {}, "bkt")
    message = str(info.value)
    assert "data/m19" in message
    assert "data/m20" not in message
    assert "and 5 more" in message


# --- plan ------------------------------------------------------------------------------------


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


# --- where the S3 manifest is ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "name", "places"),
    [
        ("data/", "manifest", ("data/manifest",)),
        ("data/part_", "manifest", ("data/part_manifest", "data/part_/manifest")),
        ("test-prefix", "manifest", ("test-prefixmanifest", "test-prefix/manifest")),
        ("", "manifest", ("manifest",)),
        ("data/", None, ()),
    ],
)
def test_manifest_keys_name_prefix_first_then_folder(
    prefix: str, name: str | None, places: tuple[str, ...]
) -> None:
    """``<prefix><name>`` (UNLOAD's place) comes first; ``<prefix>/<name>`` when it may be a
    folder."""
    assert manifest_keys(prefix, name) == places


def test_find_manifest_prefers_the_unload_place_and_names_both() -> None:
    """With both places taken, ``<prefix><name>`` is read; both are manifests, never data."""
    listed = [obj("test-prefix/a"), obj("test-prefix/manifest"), obj("test-prefixmanifest")]
    chosen, places = find_manifest(listed, "test-prefix", "manifest")
    assert chosen is not None
    assert chosen.key == "test-prefixmanifest"
    assert sorted(o.key for o in places) == ["test-prefix/manifest", "test-prefixmanifest"]
    chosen, places = find_manifest(listed[:2], "test-prefix", "manifest")
    assert chosen is not None
    assert chosen.key == "test-prefix/manifest"
    assert find_manifest(listed[:1], "test-prefix", "manifest") == (None, ())


def test_skipped_folder_markers_are_only_those_holding_data() -> None:
    """A key ending in '/' with bytes is reported (when it matches); an empty one is silent."""
    objects = [obj("data/sub/", size=0), obj("data/full/", size=7), obj("data/x.csv/", size=3)]
    skipped = skipped_folder_markers(objects, "data", ["*"])
    assert sorted(skipped) == ["data/full/", "data/x.csv/"]
    assert "7 byte(s)" in skipped["data/full/"]
    assert list(skipped_folder_markers(objects, "data", ["*.csv"])) == ["data/x.csv/"]
