"""A large prefix listed in key ranges cut at its folders, several at once, against the
moto server on both paths: the result is the sequential listing key for key (the
algorithm alone, on an in-memory bucket: tests/unit/test_list_tree.py)."""

from __future__ import annotations

import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from typing import Any

import pytest

from aio_s3_ingest._run import Run
from aio_s3_ingest._s3.client import open_s3
from aio_s3_ingest._s3.listing import list_objects
from tests._helpers import MakeIngester
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401

FOLDERS = 13
PER_FOLDER = 90  # 1,170 keys and a few more: more than one page of 1,000


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
        listed = await list_objects(handles, bucket, "data/", Run())
    assert [obj.key for obj in listed] == sequential
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
