"""Throttling is counted, logged sparingly, and lowers the requests in flight until it stops."""

from __future__ import annotations

import logging
import os
import pathlib
import time
from typing import Any

import pytest

from aio_s3_ingest import ProgressEvent, Throttled
from tests._helpers import MakeIngester
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401


def _events() -> tuple[list[ProgressEvent], Any]:
    seen: list[ProgressEvent] = []
    return seen, seen.append


@pytest.mark.asyncio
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_slowdown_on_the_wire_is_counted_warned_and_slows_the_client(
    direct_get: bool,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """24 SlowDowns: each is a Throttled event, the allowed requests in flight drop below
    the maximum, WARNINGs come at most once a second, and every file lands."""
    objects = {f"data/{i:02d}.bin": os.urandom(4096 + i) for i in range(40)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    proxy.delay(0.05, key="data/")
    rule = proxy.respond(503, "SlowDown", key="data/", times=24)
    seen, notify = _events()
    caplog.set_level(logging.WARNING, logger="aio_s3_ingest")
    started = time.monotonic()
    report = await make_ingester(
        endpoint_url=proxy.url,
        max_concurrent_files=16,
        max_attempts=10,
        progress=notify,
        direct_get=direct_get,
    ).sync()
    elapsed = time.monotonic() - started

    throttled = [e for e in seen if isinstance(e, Throttled)]
    assert rule.hits == 24
    assert (report.throttled, report.retries) == (24, 24)
    assert report.requests == len(objects) + 24 + 1  # one listing page
    assert [e.count for e in throttled] == list(range(1, 25))
    assert min(e.limit for e in throttled) < 16
    warnings = [r for r in caplog.records if "throttling" in r.getMessage()]
    assert 1 <= len(warnings) <= int(elapsed) + 1
    for key, body in objects.items():
        assert (dest / "ds" / key.removeprefix("data/")).read_bytes() == body
