"""Shards: which worker owns a key, the share a selection keeps, the option's checks."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

from aio_s3_ingest import ConfigError, S3Ingester
from aio_s3_ingest._cli_args import fetch_parser
from aio_s3_ingest._local.layout import DatasetLayout
from aio_s3_ingest._models import ObjectInfo
from aio_s3_ingest._select import shard_of
from tests._selection import selected

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def test_the_owner_of_a_key_never_changes() -> None:
    """Pinned values: workers on other machines, Python versions or runs must agree."""
    keys = ["data/a.csv", "data/b.csv", "2026/11/part-000.parquet", "x"]
    assert [shard_of(key, 4) for key in keys] == [0, 3, 0, 3]
    assert shard_of("data/a.csv", 1_000_003) == 235215
    assert all(shard_of(key, 1) == 0 for key in keys)


def test_keys_spread_evenly() -> None:
    counts = [0] * 8
    for i in range(16_000):
        counts[shard_of(f"exports/part-{i:05d}.parquet", 8)] += 1
    assert min(counts) > 1_800  # 2,000 each on average


def test_the_shards_partition_the_selection() -> None:
    """Each wanted key goes to one shard; another shard's keys stay present (never
    deleted), and every shard checks the whole selection."""
    objects = [ObjectInfo(f"data/f{i}", i, f'"{i}"', WHEN) for i in range(200)]
    whole, _ = selected(objects, "data/")
    shares = [selected(objects, "data/", shard=(i, 3)) for i in range(3)]
    assert sorted(w.relpath for share, _ in shares for w in share) == [w.relpath for w in whole]
    assert sum(len(share) for share, _ in shares) == len(whole)
    share, selector = shares[1]
    assert set(selector.wanted_here) == {w.relpath for w in share}
    assert len(selector.paths) == len(whole)
    mine = {w.obj.key for w in share}
    assert all(selector.is_present(o.key, o.key[5:]) != (o.key in mine) for o in objects)


def test_each_shard_keeps_its_state_apart(tmp_path: pathlib.Path) -> None:
    whole = DatasetLayout(tmp_path)
    shard = DatasetLayout(tmp_path, (2, 5))
    assert shard.state_dir == whole.state_dir / "shard-2-of-5"
    assert shard.lock_path.parent == shard.temp_dir.parent == shard.state_dir


@pytest.mark.parametrize(
    "shard",
    [(2, 2), (-1, 2), (0, 0), (3, 1), [0, 2], "0/2", (0, 2, 1), (True, 2), (0.0, 2)],
)
def test_a_bad_shard_is_refused_naming_it(shard: object) -> None:
    with pytest.raises(ConfigError) as refused:
        S3Ingester("bucket", "data/", shard=shard)  # type: ignore[arg-type]
    assert refused.value.parameter == "shard"
    assert "shard" in str(refused.value)


def test_the_command_line_takes_i_of_n() -> None:
    parser = fetch_parser()
    assert parser.parse_args(["s3://b/p/", "d", "--shard", "1/4"]).shard == (1, 4)
    assert parser.parse_args(["s3://b/p/", "d"]).shard is None
    for bad in ("1", "a/4", "1/b", "1/4/2"):
        with pytest.raises(SystemExit):
            parser.parse_args(["s3://b/p/", "d", "--shard", bad])
