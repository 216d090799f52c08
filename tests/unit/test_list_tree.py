"""A prefix listed by folders: against an in-memory bucket that pages as S3 does, the
result is the sequential listing key for key, and small prefixes cost one page."""

from __future__ import annotations

import datetime as dt
import random

import anyio
import anyio.lowlevel
import pytest

from aio_s3_ingest._models import ObjectInfo
from aio_s3_ingest._s3.list_tree import PAGES_IN_FLIGHT, Page, list_tree

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class Bucket:
    """ListObjectsV2 over sorted keys: ``page_size`` entries a page (keys and folders
    together, as S3 counts them), folders with ``by_folder``; every call recorded."""

    def __init__(self, keys: list[str], page_size: int = 1000) -> None:
        self.keys = sorted(keys)
        self.page_size = page_size
        self.calls: list[tuple[str, bool]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, prefix: str, token: str | None, by_folder: bool) -> Page:
        self.calls.append((prefix, by_folder))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await anyio.lowlevel.checkpoint()
            return self._page(prefix, int(token or 0), by_folder)
        finally:
            self.in_flight -= 1

    def _page(self, prefix: str, start: int, by_folder: bool) -> Page:
        entries: list[tuple[str, bool]] = []  # (key or folder, is a folder)
        for key in self.keys:
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            if by_folder and "/" in rest:
                folder = prefix + rest[: rest.index("/") + 1]
                if not entries or entries[-1] != (folder, True):
                    entries.append((folder, True))
            else:
                entries.append((key, False))
        chunk = entries[start : start + self.page_size]
        more = start + self.page_size < len(entries)
        folders = [name for name, is_folder in chunk if is_folder]
        objects = [_obj(name) for name, is_folder in chunk if not is_folder]
        return Page(objects, folders, str(start + self.page_size) if more else None)


def _obj(key: str) -> ObjectInfo:
    return ObjectInfo(key, len(key), '"e"', WHEN)


def keys_of(objects: list[ObjectInfo]) -> list[str]:
    return [obj.key for obj in objects]


def test_a_small_prefix_costs_one_page() -> None:
    bucket = Bucket([f"data/{i}/x" for i in range(50)])
    listed = anyio.run(list_tree, bucket, "data/")
    assert keys_of(listed) == bucket.keys
    assert bucket.calls == [("data/", False)]


def test_a_large_prefix_is_listed_by_folder_and_equals_the_sequential_listing() -> None:
    rng = random.Random(7)
    keys = [
        f"data/y={y}/m={m:02d}/part-{i}.parquet"
        for y in range(3)
        for m in range(12)
        for i in range(rng.randint(0, 9))
    ]
    keys += ["data/top.csv", "data/zz", "data/y=1/m=03/", "data//double"]
    bucket = Bucket(keys, page_size=10)
    listed = anyio.run(list_tree, bucket, "data/")
    assert keys_of(listed) == sorted(set(keys))
    assert [obj.size for obj in listed] == [len(key) for key in sorted(set(keys))]
    folders_listed = {prefix for prefix, by_folder in bucket.calls if not by_folder}
    assert "data/y=1/m=03/" in folders_listed  # two levels down
    assert bucket.most_in_flight > 1


def test_a_flat_prefix_goes_on_page_after_page() -> None:
    keys = [f"data/f{i:04d}" for i in range(95)]
    bucket = Bucket(keys, page_size=10)
    assert keys_of(anyio.run(list_tree, bucket, "data/")) == keys
    by_folder = [call for call in bucket.calls if call[1]]
    assert len(by_folder) == 10  # one look at the level, which has no folders


def test_listings_in_flight_are_bounded() -> None:
    keys = [f"d/{i:03d}/{j}" for i in range(200) for j in range(3)]
    bucket = Bucket(keys, page_size=2)
    assert keys_of(anyio.run(list_tree, bucket, "d/")) == sorted(keys)
    assert 1 < bucket.most_in_flight <= PAGES_IN_FLIGHT


def test_the_error_of_one_folder_is_raised_as_itself() -> None:
    bucket = Bucket([f"d/{i}/{j}" for i in range(5) for j in range(5)], page_size=3)

    async def failing(prefix: str, token: str | None, by_folder: bool) -> Page:
        if prefix == "d/3/":
            raise PermissionError("AccessDenied under d/3/")
        return await bucket(prefix, token, by_folder)

    with pytest.raises(PermissionError, match="d/3/"):
        anyio.run(list_tree, failing, "d/")
