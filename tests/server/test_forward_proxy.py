"""GETs through the proxy ``HTTP_PROXY`` / ``HTTPS_PROXY`` name stay on the direct path:
plain HTTP in absolute form, HTTPS through a CONNECT tunnel; ``NO_PROXY`` is honoured."""

from __future__ import annotations

import logging
import pathlib
import random
import urllib.parse
from typing import Any

import pytest
import trustme

from tests._forward_proxy import ForwardProxy
from tests._helpers import MakeIngester, assert_landed
from tests._tls_front import TlsFront

MiB = 1024 * 1024


def _objects(s3: Any, bucket: str) -> dict[str, bytes]:
    """A small object and one large enough for two ranges, uploaded; key -> bytes."""
    objects = {
        "data/small.csv": b"a,b\n1,2\n",
        "data/large.bin": random.Random(7).randbytes(3 * MiB + 5),
    }
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return objects


def _fallbacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the library logged about leaving the direct path."""
    return [r.getMessage() for r in caplog.records if "direct GETs" in r.getMessage()]


@pytest.mark.asyncio
async def test_plain_http_goes_through_the_proxy_in_absolute_form_on_the_direct_path(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    moto_endpoint: str,
    make_ingester: MakeIngester,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With ``HTTP_PROXY=http://user:pass@proxy``, the listing, every ranged GET and the HEAD
    asking for the large object's checksum reach the proxy in absolute form with
    Proxy-Authorization, sent by the direct path (botocore's User-Agent, not
    aiobotocore's), and every file is byte exact."""
    objects = _objects(s3, bucket)
    caplog.set_level(logging.DEBUG, logger="aio_s3_ingest")
    with ForwardProxy().running() as proxy:
        netloc = urllib.parse.urlsplit(proxy.url).netloc
        monkeypatch.setenv("HTTP_PROXY", f"http://us%65r:p%40ss@{netloc}")
        ingester = make_ingester(workers_per_file=2, part_size=MiB)
        await ingester.fetch_data()
        seen = proxy.seen
    assert_landed(dest / "ds", objects)
    assert _fallbacks(caplog) == []
    origin = f"{moto_endpoint}/{bucket}"
    gets = [s for s in seen if s.target.startswith(f"{origin}/data/")]
    listings = [s for s in seen if s.target.startswith(f"{origin}?")]
    assert len(listings) == 1
    assert len(gets) >= 3  # the small object, and the large one's ranges
    assert {s.method for s in seen} == {"GET", "HEAD"}
    assert {s.proxy_authorization for s in seen} == {"Basic dXNlcjpwQHNz"}  # user:p@ss
    assert all((s.user_agent or "").startswith("Botocore/") for s in seen)


@pytest.mark.asyncio
async def test_https_goes_through_a_connect_tunnel_on_the_direct_path(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    moto_endpoint: str,
    make_ingester: MakeIngester,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With ``HTTPS_PROXY`` set and an HTTPS endpoint, connections are CONNECT tunnels to
    that endpoint with TLS inside, still on the direct path; the files are byte exact."""
    objects = _objects(s3, bucket)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    caplog.set_level(logging.DEBUG, logger="aio_s3_ingest")
    with TlsFront(moto_endpoint, ca).running() as front, ForwardProxy().running() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        await make_ingester(endpoint_url=front.url, workers_per_file=2, part_size=MiB).sync()
        seen = proxy.seen
    assert_landed(dest / "ds", objects)
    assert _fallbacks(caplog) == []
    tunnel_to = urllib.parse.urlsplit(front.url).netloc
    assert seen
    assert {(s.method, s.target) for s in seen} == {("CONNECT", tunnel_to)}


@pytest.mark.asyncio
async def test_no_proxy_sends_the_endpoint_s_requests_straight_to_it(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``NO_PROXY`` naming the endpoint's host keeps every request off the proxy."""
    objects = _objects(s3, bucket)
    with ForwardProxy().running() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        await make_ingester().fetch_data()
        seen = proxy.seen
    assert_landed(dest / "ds", objects)
    assert seen == []
