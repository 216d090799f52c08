"""A large prefix listed in key ranges cut at its folders, several at once, against the
moto server on both paths: the result is the sequential listing key for key (the
algorithm alone, on an in-memory bucket: tests/unit/test_list_tree.py)."""

from __future__ import annotations

import json
import pathlib
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from typing import Any

import pytest

from aio_s3_ingest import ManifestError
from aio_s3_ingest._models import ObjectInfo
from aio_s3_ingest._run import Run
from aio_s3_ingest._s3.client import open_s3
from aio_s3_ingest._s3.listing import list_objects
from tests._helpers import MakeIngester, data_files
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401

FOLDERS = 13
PER_FOLDER = 90  # 1,170 keys and a few more: more than one page of 1,000


class Collected:
    """Every listed object, as the pages came."""

    def __init__(self) -> None:
        self.objects: list[ObjectInfo] = []

    def add(self, objects: list[ObjectInfo]) -> None:
        self.objects += objects


def listing_requests(proxy: FaultProxy) -> list[dict[str, str]]:
    return [
        dict(urllib.parse.parse_qsl(x.query))
        for x in proxy.exchanges
        if x.key == "" and "list-type=2" in x.query
    ]


@pytest.fixture
def many_keys(s3: Any, bucket: str) -> list[str]:
    keys = [f"data/day={d:02d}/part-{i:03d}.csv" for d in range(FOLDERS) for i in range(PER_FOLDER)]
    keys += ["data/_SUCCESS", "data/day=05/", "data/day=05/deep/x.csv", "data/z y+ü.csv"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"x"), keys))
    return keys


@pytest.mark.asyncio
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_a_large_prefix_lists_by_folder_as_the_sequential_listing_does(
    s3: Any,
    bucket: str,
    many_keys: list[str],
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    direct_get: bool,
) -> None:
    sequential = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="data/")
        for item in page.get("Contents", ())
    ]
    assert len(sequential) > 1000
    config = make_ingester(endpoint_url=proxy.url, direct_get=direct_get).config
    async with AsyncExitStack() as stack:
        handles = await open_s3(config, stack)
        listed = await list_objects(handles, bucket, "data/", Run(), Collected)
    assert sorted(obj.key for obj in listed.objects) == sequential
    requests = listing_requests(proxy)
    assert [r.get("delimiter") for r in requests].count("/") == 1  # the folders, one page
    starts = sorted(r["start-after"] for r in requests if "start-after" in r)
    assert starts == [f"data/day={d:02d}." for d in range(1, FOLDERS)]  # a range per folder
    assert len(requests) <= 2 + FOLDERS  # the first page, the folders, and the ranges


@pytest.mark.asyncio
async def test_a_small_prefix_still_costs_one_listing(
    s3: Any, bucket: str, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    for d in range(5):
        s3.put_object(Bucket=bucket, Key=f"data/day={d}/a.csv", Body=b"a")
    report = await make_ingester(endpoint_url=proxy.url).plan()
    assert len(report.fetched) == 5
    assert [r.get("delimiter") for r in listing_requests(proxy)] == [None]


def _put_manifest(s3: Any, bucket: str, key: str, keys: list[str]) -> None:
    entries = [{"url": f"s3://{bucket}/{k}", "meta": {"content_length": 1}} for k in keys]
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"entries": entries}).encode())


@pytest.mark.asyncio
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_a_large_prefix_is_narrowed_by_its_manifest_as_the_pages_arrive(
    s3: Any,
    bucket: str,
    many_keys: list[str],
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    dest: pathlib.Path,
    direct_get: bool,
) -> None:
    """The manifest of a prefix of many pages is looked up by its key before the ranges
    are listed; only what it names lands, and the manifest itself never does."""
    named = ["data/day=00/part-001.csv", "data/day=12/part-089.csv", "data/z y+ü.csv"]
    _put_manifest(s3, bucket, "data/manifest", named)
    ingester = make_ingester(endpoint_url=proxy.url, direct_get=direct_get)
    await ingester.fetch_data()
    assert data_files(dest / "ds") == sorted(key.removeprefix("data/") for key in named)
    lookups = [r for r in listing_requests(proxy) if r["prefix"] == "data/manifest"]
    assert len(lookups) == 1
    gets = [x.key for x in proxy.exchanges if x.key and x.method == "GET"]
    assert sorted(gets) == sorted(["data/manifest", *named])


@pytest.mark.asyncio
async def test_a_large_prefix_missing_an_object_of_its_manifest_is_refused(
    s3: Any, bucket: str, many_keys: list[str], make_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    _put_manifest(s3, bucket, "data/manifest", ["data/day=03/part-000.csv", "data/day=99/x"])
    with pytest.raises(ManifestError, match="day=99/x is missing"):
        await make_ingester().fetch_data()
    assert data_files(dest / "ds") == []


@pytest.mark.asyncio
async def test_a_large_prefix_without_a_manifest_costs_one_lookup_per_place(
    s3: Any, bucket: str, many_keys: list[str], proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """Prefix ``data`` names a folder or a name: two places, each looked up once, and
    every key is a candidate."""
    s3.put_object(Bucket=bucket, Key="data/manifest.csv", Body=b"x")  # not at a place
    report = await make_ingester("data", endpoint_url=proxy.url).plan()
    assert len(report.fetched) == len(many_keys) + 1 - 1  # a folder marker is no file
    lookups = sorted(r["prefix"] for r in listing_requests(proxy) if "manifest" in r["prefix"])
    assert lookups == ["data/manifest", "datamanifest"]
