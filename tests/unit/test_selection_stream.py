"""The selection and the plan fed page by page, in any order (``_selection``, ``_planning``):
the same outcome as one batch, and the checks over every key made once the listing ends."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from aio_s3_ingest import NoMatchingFilesError, TimestampToleranceError, UnsafeKeyError
from aio_s3_ingest._config import IngestConfig
from aio_s3_ingest._models import DiskState, ObjectInfo, WantedFile
from aio_s3_ingest._planning import FetchList, FetchTally, PlanBuilder
from aio_s3_ingest._select import relative_path
from aio_s3_ingest._selection import Selector
from tests._selection import T0, obj, record_of


def _fed(
    objects: list[ObjectInfo], prefix: str, *, seed: int, tolerance_hours: float = -1
) -> tuple[Selector, list[WantedFile]]:
    """A selector fed ``objects`` shuffled, in batches of random sizes, and the wanted
    files it handed over."""
    rng = random.Random(seed)
    objects = objects[:]
    rng.shuffle(objects)
    handed: list[WantedFile] = []
    selector = Selector(("bkt", prefix), ("*.csv",), handed.append, tolerance_hours=tolerance_hours)
    while objects:
        cut = rng.randint(0, 7)
        selector.add(objects[:cut])
        objects = objects[cut:]
    return selector, handed


def _listing() -> list[ObjectInfo]:
    keys = [f"data/y={y}/part-{i}.csv" for y in range(5) for i in range(30)]
    keys += ["data/readme.txt", "data/y=1/", "data/notes/", "data/x.csv/", "data/top.csv"]
    return [obj(key, size=3 if key == "data/x.csv/" else 1) for key in keys]


def test_batches_in_any_order_select_as_one_batch() -> None:
    whole, first = _fed(_listing(), "data/", seed=0)
    for seed in range(1, 6):
        fed, handed_over = _fed(_listing(), "data/", seed=seed)
        handed = sorted(item.relpath for item in handed_over)
        assert handed == sorted(item.relpath for item in first)
        assert len(handed) == len(set(handed)) == 151
        assert fed.others == whole.others == {"data/readme.txt"}
        assert fed.skipped == whole.skipped
        assert list(fed.skipped) == ["data/x.csv/"]
        fed.finish(ignores_case=False)


@pytest.mark.parametrize("seed", range(4))
def test_a_file_where_a_folder_must_be_is_refused_whichever_comes_first(seed: int) -> None:
    objects = [obj("data/a.csv"), obj("data/a.csv/b.csv"), obj("data/c/d.csv")]
    objects += [obj(f"data/e/{i}.csv") for i in range(20)]
    selector, _ = _fed(objects, "data/", seed=seed)
    with pytest.raises(UnsafeKeyError) as refused:
        selector.finish(ignores_case=False)
    assert refused.value.keys == ["data/a.csv/b.csv"]
    assert "'a.csv'" in refused.value.problems["data/a.csv/b.csv"]
    assert "'data/a.csv'" in refused.value.problems["data/a.csv/b.csv"]


def test_two_keys_on_one_path_are_both_named_in_full() -> None:
    """Prefix ``data``: ``data/d.csv`` (below the prefix as a folder) and ``d.csv``
    (beside it) both land at ``d.csv``; each key is named as it is in S3."""
    objects = [obj("data/d.csv"), obj("d.csv"), obj("data/ok.csv"), obj("data_2.csv")]
    selector, _ = _fed(objects, "data", seed=3)
    with pytest.raises(UnsafeKeyError) as refused:
        selector.finish(ignores_case=False)
    assert refused.value.keys == ["d.csv", "data/d.csv"]
    assert "'data/d.csv'" in refused.value.problems["d.csv"]
    assert "'d.csv'" in refused.value.problems["data/d.csv"]


def test_no_match_is_refused_once_the_listing_ends() -> None:
    selector, _ = _fed([obj("data/a.txt"), obj("data/b.json")], "data/", seed=1)
    with pytest.raises(NoMatchingFilesError, match="s3://bkt/data/"):
        selector.finish(ignores_case=False)


def test_the_timestamp_spread_covers_every_batch() -> None:
    objects = [obj(f"data/{i}.csv", when=T0 + dt.timedelta(minutes=i)) for i in range(50)]
    objects.append(obj("data/late.csv", when=T0 + dt.timedelta(hours=5)))
    objects.append(obj("data/late.txt", when=T0 + dt.timedelta(hours=9)))  # not selected
    _fed(objects, "data/", seed=2, tolerance_hours=6)[0].finish(ignores_case=False)
    with pytest.raises(TimestampToleranceError) as refused:
        _fed(objects, "data/", seed=2, tolerance_hours=4)[0].finish(ignores_case=False)
    assert "'data/0.csv'" in str(refused.value)
    assert "'data/late.csv'" in str(refused.value)


def test_names_equal_but_for_case_are_refused_only_where_case_is_ignored() -> None:
    objects = [obj("data/A.csv"), obj("data/a.csv"), obj("data/b.csv")]
    _fed(objects, "data/", seed=0)[0].finish(ignores_case=False)
    with pytest.raises(UnsafeKeyError) as refused:
        _fed(objects, "data/", seed=0)[0].finish(ignores_case=True)
    assert refused.value.keys == ["data/a.csv"]


def test_a_candidate_left_out_is_present_at_its_own_path_only() -> None:
    selector, _ = _fed([obj("data/a.csv"), obj("data/sub/n.txt")], "data", seed=0)
    assert selector.is_present("data/sub/n.txt", "sub/n.txt")
    assert not selector.is_present("data/sub/n.txt", "data/sub/n.txt")
    assert not selector.is_present("data/a.csv", "a.csv")  # wanted: planned, not left alone
    assert not selector.is_present("data/gone.txt", "gone.txt")


def _config(**options: object) -> IngestConfig:
    return IngestConfig(
        s3_bucket_name="bkt",
        s3_key_prefix="data/",
        dataset_id="d",
        file_patterns=("*.csv",),
        **options,  # type: ignore[arg-type]
    )


def test_files_listed_before_the_local_state_is_in_wait_for_it() -> None:
    """Pages that arrive before the manifest is read are planned once it is: a tracked,
    unchanged file is kept whichever came first."""
    kept, changed, new = obj("data/k.csv"), obj("data/c.csv"), obj("data/n.csv")
    gone = WantedFile("gone.csv", obj("data/gone.csv"))
    old_c = WantedFile("c.csv", obj("data/c.csv", etag='"old"'))
    left_out = WantedFile("old.txt", obj("data/old.txt"))  # tracked, now outside *.csv
    records = {
        "k.csv": record_of(WantedFile("k.csv", kept)),
        "c.csv": record_of(old_c),
        "gone.csv": record_of(gone),
        "old.txt": record_of(left_out),
    }
    disk = {path: DiskState(1, 1_000) for path in records}
    builder = PlanBuilder(_config(), FetchList(), force=False)
    builder.add([kept, changed, obj("data/early.txt")])
    assert builder.fetch.items == []  # nothing decided before the local state is in
    builder.plan_against((records, disk))
    builder.add([new, obj("data/skip.txt"), left_out.obj])
    to_keep, to_delete, unselected = builder.finish(ignores_case=False, prune_unselected=False)
    assert [item.relpath for item in to_keep] == ["k.csv"]
    assert sorted(item.relpath for item in builder.fetch.items) == ["c.csv", "n.csv"]
    assert (to_delete, unselected) == (["gone.csv"], ["old.txt"])
    assert builder.selector.others == {"data/old.txt"}  # no untracked key is kept


def test_a_dry_run_keeps_the_paths_and_bytes_and_the_archived_objects_whole() -> None:
    cold = ObjectInfo("data/cold.csv", 7, '"c"', T0, storage_class="GLACIER")
    builder = PlanBuilder(_config(), FetchTally(), force=False)
    builder.plan_against(({}, {}))
    builder.add([obj("data/a.csv", size=5), cold, obj("data/b.csv", size=2)])
    builder.finish(ignores_case=False, prune_unselected=False)
    assert sorted(builder.fetch.paths) == ["a.csv", "b.csv", "cold.csv"]
    assert builder.fetch.bytes == 14
    assert [item.obj for item in builder.fetch.archived] == [cold]


@pytest.mark.parametrize("prefix", ["", "data", "data/", "data/pa", "data/part=1/x.csv"])
def test_each_path_is_relative_path_and_gives_back_its_key(prefix: str) -> None:
    """The selector's own cut of each key is :func:`relative_path`, and the key it keeps
    (or rebuilds) for a path is the key listed there."""
    rng = random.Random(prefix)
    pieces = ["data", "part=1", "pa", "x.csv", "d", "data_2", "é"]
    keys = {"/".join(rng.choices(pieces, k=rng.randint(1, 4))) for _ in range(300)}
    keys = {key for key in keys if key.startswith(prefix)}
    handed: list[WantedFile] = []
    selector = Selector(("bkt", prefix), ("*",), handed.append)
    selector.add([obj(key) for key in sorted(keys)])
    assert {item.obj.key for item in handed} == keys
    for item in handed:
        assert item.relpath == relative_path(item.obj.key, prefix)
        paired = [other.obj.key for other in handed if other.relpath == item.relpath]
        assert selector.paths.key_of(item.relpath) == paired[0]
