"""One attempt budget per range: failed requests and broken bodies draw from it together,
so a range that fails every way is sent at most ``max_attempts`` GETs, on both GET paths."""

from __future__ import annotations

import os
from typing import Any

import pytest

from aio_s3_ingest import IngestFailed, TransferError
from tests._helpers import MakeIngester
from tests._proxy import FaultProxy, Request, proxy_fixture  # noqa: F401

KiB = 1024
KEY = "data/bad.bin"


class _EveryGetFails:
    """GET n of the key is answered 503 SlowDown, except every ``period``-th, which is
    forwarded and reset mid-body: request errors a getter retries, then a body to resume
    (``period=1``: every body breaks; a large one: every GET is a SlowDown)."""

    def __init__(self, period: int) -> None:
        self.period = period
        self.seen = 0

    def slowdown(self, request: Request) -> bool:
        self.seen += 1  # asked first for each request (rules are matched in order)
        return self.seen % self.period != 0

    def reset(self, request: Request) -> bool:
        return self.seen % self.period == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("period", [3, 1, 1000], ids=["mixed", "resets", "slowdowns"])
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_a_range_that_always_fails_is_sent_at_most_max_attempts_gets(
    direct_get: bool,
    period: int,
    s3: Any,
    bucket: str,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
) -> None:
    """Every GET of the range fails (mixed: two SlowDowns, then a body reset after 64 KiB,
    over and over): at most max_attempts GETs of it in all, for its one version, then
    IngestFailed naming it. Before ranges had one budget, "mixed" took 3 x 3 GETs."""
    max_attempts = 3
    s3.put_object(Bucket=bucket, Key=KEY, Body=os.urandom(300 * KiB))
    faults = _EveryGetFails(period)
    proxy.respond(503, "SlowDown", key=KEY, when=faults.slowdown)
    proxy.reset_after(64 * KiB, key=KEY, when=faults.reset)
    ingester = make_ingester(
        endpoint_url=proxy.url, direct_get=direct_get, max_attempts=max_attempts
    )
    with pytest.raises(IngestFailed) as excinfo:
        await ingester.sync()

    assert list(excinfo.value.failures) == [KEY]
    assert isinstance(excinfo.value.failures[KEY], TransferError)
    gets = proxy.data_gets(KEY)
    assert len({x.if_match for x in gets}) == 1  # one version of the object
    assert len(gets) <= max_attempts, [(x.status, x.range, x.faults) for x in gets]
    report = excinfo.value.report
    assert report is not None
    assert report.retries == len(gets) - 1  # every GET after the range's first


@pytest.mark.asyncio
async def test_a_get_handed_to_botocore_costs_its_range_no_attempt(
    s3: Any, bucket: str, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """max_attempts=1: the direct GET answered with a region redirect is sent again through
    botocore, not counted against the range; it is a request, but no retry."""
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"x" * KiB)
    rule = proxy.respond(301, "PermanentRedirect", key=KEY, times=1)
    report = await make_ingester(endpoint_url=proxy.url, max_attempts=1).sync()

    assert rule.hits == 1
    assert [x.status for x in proxy.data_gets(KEY)] == [301, 200]
    assert (report.requests, report.retries) == (3, 0)  # the listing page and two GETs
