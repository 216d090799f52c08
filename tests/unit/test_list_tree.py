"""A large prefix listed in key ranges at once: against an in-memory bucket that pages as
S3 does, the pages emitted are the sequential listing key for key (each key once), and
small prefixes cost one page."""

from __future__ import annotations

import datetime as dt
import random

import anyio
import anyio.lowlevel
import pytest

from aio_s3_ingest._models import ObjectInfo
from aio_s3_ingest._s3.list_tree import RANGES, Page, PageRequest, PageSource, list_tree

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class Bucket:
    """ListObjectsV2 over sorted keys: ``page_size`` entries a page (keys and folders
    together, as S3 counts them), folders with ``by_folder``; every call recorded."""

    def __init__(self, keys: list[str], page_size: int = 1000) -> None:
        self.keys = sorted(keys)
        self.page_size = page_size
        self.calls: list[PageRequest] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, request: PageRequest) -> Page:
        self.calls.append(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await anyio.lowlevel.checkpoint()
            return self._page(request)
        finally:
            self.in_flight -= 1

    def _page(self, request: PageRequest) -> Page:
        prefix, by_folder = request.prefix, request.by_folder
        after = request.token or request.start_after or ""
        entries: list[tuple[str, bool]] = []  # (key or folder, is a folder), after `after`
        for key in self.keys:
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            if by_folder and "/" in rest:
                folder = prefix + rest[: rest.index("/") + 1]
                if folder > after and (not entries or entries[-1] != (folder, True)):
                    entries.append((folder, True))
            elif key > after:
                entries.append((key, False))
        chunk = entries[: self.page_size]
        more = len(entries) > self.page_size
        folders = [name for name, is_folder in chunk if is_folder]
        objects = [_obj(name) for name, is_folder in chunk if not is_folder]
        return Page(objects, folders, chunk[-1][0] if more else None)


def _obj(key: str) -> ObjectInfo:
    return ObjectInfo(key, len(key), '"e"', WHEN)


def keys_of(objects: list[ObjectInfo]) -> list[str]:
    return [obj.key for obj in objects]


def listed(pages: PageSource, prefix: str) -> list[ObjectInfo]:
    """Every object ``list_tree`` emits, sorted by key (ranges arrive interleaved);
    a key emitted twice would show up twice."""
    found: list[ObjectInfo] = []
    anyio.run(list_tree, pages, prefix, found.extend)
    return sorted(found, key=lambda obj: obj.key)


def test_a_small_prefix_costs_one_page() -> None:
    bucket = Bucket([f"data/{i}/x" for i in range(50)])
    assert keys_of(listed(bucket, "data/")) == bucket.keys
    assert bucket.calls == [PageRequest("data/")]


def test_a_large_prefix_is_listed_in_ranges_and_equals_the_sequential_listing() -> None:
    rng = random.Random(7)
    keys = [
        f"data/y={y}/m={m:02d}/part-{i}.parquet"
        for y in range(9)
        for m in range(12)
        for i in range(rng.randint(0, 9))
    ]
    keys += ["data/top.csv", "data/zz", "data/y=1/", "data//double", "data/y=1.csv", "data/y=1-b"]
    bucket = Bucket(keys, page_size=10)
    objects = listed(bucket, "data/")
    assert keys_of(objects) == sorted(set(keys))
    assert [obj.size for obj in objects] == [len(key) for key in sorted(set(keys))]
    starts = [call.start_after for call in bucket.calls if call.start_after]
    assert len(starts) == len(set(starts)) > 1
    assert bucket.most_in_flight > 1


def test_many_small_folders_cost_about_the_sequential_pages() -> None:
    """1,000 folders of 20 keys: ranges of whole folders, not a listing per folder."""
    keys = [f"data/part={f:04d}/{i:07d}.bin" for f in range(1000) for i in range(20)]
    bucket = Bucket(keys, page_size=1000)
    assert keys_of(listed(bucket, "data/")) == keys
    # the first page, the folder level, and each range's pages (one may run past its end)
    assert len(bucket.calls) <= 1 + 1 + len(keys) // 1000 + RANGES
    assert bucket.most_in_flight <= RANGES


def test_a_flat_prefix_goes_on_page_after_page() -> None:
    keys = [f"data/f{i:04d}" for i in range(95)]
    bucket = Bucket(keys, page_size=10)
    assert keys_of(listed(bucket, "data/")) == keys
    assert [call.by_folder for call in bucket.calls].count(True) == 10  # the level: no folders


def test_the_error_of_one_range_is_raised_as_itself() -> None:
    bucket = Bucket([f"d/{i}/{j}" for i in range(5) for j in range(5)], page_size=3)

    async def failing(request: PageRequest) -> Page:
        if request.start_after == "d/3.":
            raise PermissionError("AccessDenied from d/3/ on")
        return await bucket(request)

    with pytest.raises(PermissionError, match="d/3/"):
        listed(failing, "d/")
