"""File patterns against a real endpoint: what they select, and a selection of nothing."""

from __future__ import annotations

import pathlib
from typing import Any

import anyio
import pytest

from aio_s3_ingest import NoMatchingFilesError
from tests._helpers import MakeIngester, data_files
from tests._listing import module_client, new_bucket, put, shared_ingester

PATTERN_KEYS = ("data/a.csv", "data/b.json", "data/sub/c.csv", "data/sub/d.txt", "data/other/e.csv")


@pytest.fixture(scope="module")
def pattern_bucket(moto_endpoint: str) -> str:
    """A bucket holding PATTERN_KEYS, shared by the read-only pattern tests."""
    client = module_client(moto_endpoint)
    name = new_bucket(client, "patterns")
    put(client, name, *PATTERN_KEYS)
    return name


@pytest.fixture
def pattern_ingester(moto_endpoint: str, pattern_bucket: str, dest: pathlib.Path) -> MakeIngester:
    """Ingesters on the shared pattern bucket."""
    return shared_ingester(moto_endpoint, pattern_bucket, dest)


@pytest.mark.parametrize(
    ("file_pattern", "expected"),
    [
        ("*", ["a.csv", "b.json", "other/e.csv", "sub/c.csv", "sub/d.txt"]),
        ("*.csv", ["a.csv", "other/e.csv", "sub/c.csv"]),
        ("c.csv", ["sub/c.csv"]),
        ("sub/*.csv", ["sub/c.csv"]),
        ("sub/*", ["sub/c.csv", "sub/d.txt"]),
        (["*.json", "*.txt"], ["b.json", "sub/d.txt"]),
        (["sub/*.csv", "a.*"], ["a.csv", "sub/c.csv"]),
        (("*.json",), ["b.json"]),
        ("[ab].*", ["a.csv", "b.json"]),
    ],
)
@pytest.mark.asyncio
async def test_file_pattern_selects_by_relative_path_or_basename(
    pattern_ingester: MakeIngester,
    dest: pathlib.Path,
    file_pattern: str | list[str],
    expected: list[str],
) -> None:
    """Patterns match the relative path; one without '/' also matches the basename; any counts."""
    paths = await pattern_ingester(file_pattern=file_pattern).fetch_data()
    root = dest / "ds"
    assert paths == [root / rel for rel in expected]
    assert data_files(root) == expected


@pytest.mark.asyncio
async def test_slash_pattern_does_not_match_the_basename_or_full_key(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """``sub/*.csv`` never matches a top-level file, and ``data/...`` patterns see no prefix."""
    put(s3, bucket, "data/a.csv", "data/other/sub.csv")
    with pytest.raises(NoMatchingFilesError):
        await make_ingester(file_pattern="sub/*.csv").fetch_data()
    with pytest.raises(NoMatchingFilesError):
        await make_ingester(file_pattern="data/*.csv").fetch_data()
    assert data_files(dest) == []


@pytest.mark.asyncio
async def test_no_match_is_a_file_not_found_error_and_writes_nothing(
    pattern_bucket: str, pattern_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """No matching object raises NoMatchingFilesError (a FileNotFoundError) naming the prefix."""
    with pytest.raises(FileNotFoundError) as info:
        await pattern_ingester(file_pattern=["*.parquet", "*.orc"]).fetch_data()
    assert isinstance(info.value, NoMatchingFilesError)
    assert f"s3://{pattern_bucket}/data/" in str(info.value)
    assert "*.parquet" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_empty_prefix_listing_is_no_match(
    bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """An empty bucket (nothing under the prefix at all) is NoMatchingFilesError too."""
    with pytest.raises(NoMatchingFilesError):
        await make_ingester().fetch_data()
    assert not await anyio.Path(dest).exists()
