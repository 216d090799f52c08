"""The listing on the direct path against the moto server: retried like botocore retries,
and handed to botocore when the direct path cannot read it (the parser alone:
tests/unit/test_listing_parse.py)."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from aio_s3_ingest import IngestError
from tests._helpers import MakeIngester, data_files
from tests._proxy import FaultProxy, Request, proxy_fixture  # noqa: F401


def _is_listing(request: Request) -> bool:
    return request.key == "" and "list-type=2" in request.query


@pytest.mark.asyncio
async def test_a_throttled_listing_is_retried_and_counted(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """Two SlowDown answers to the listing: retried, counted as throttled, and the run lands
    every file."""
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"data/{i}.csv", Body=b"x" * i)
    rule = proxy.respond(503, "SlowDown", when=_is_listing, times=2)
    report = await make_ingester(endpoint_url=proxy.url, max_attempts=5).sync()
    assert rule.hits == 2
    assert report.throttled >= 2
    assert data_files(dest / "ds") == ["0.csv", "1.csv", "2.csv"]


@pytest.mark.asyncio
async def test_a_listing_that_keeps_failing_names_the_prefix_and_writes_nothing(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    rule = proxy.respond(500, "InternalError", when=_is_listing)
    with pytest.raises(IngestError, match=rf"s3://{bucket}/data/.*InternalError"):
        await make_ingester(endpoint_url=proxy.url, max_attempts=3).sync()
    assert rule.hits == 3  # max_attempts counts every attempt
    assert not (dest / "ds" / "a.csv").exists()


@pytest.mark.asyncio
async def test_a_listing_the_direct_path_cannot_read_goes_to_botocore(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """A redirect on the first listing request: the listing is done by botocore instead,
    and the run lands every file."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    rule = proxy.respond(301, "PermanentRedirect", when=_is_listing, times=1)
    await make_ingester(endpoint_url=proxy.url).sync()
    assert rule.hits == 1
    assert (dest / "ds" / "a.csv").read_bytes() == b"a"
