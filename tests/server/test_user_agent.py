"""The User-Agent the S3 endpoint sees: botocore's, with the library's name and version."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aio_s3_ingest import __version__
from tests._helpers import MakeIngester
from tests._proxy import FaultProxy, Request, proxy_fixture  # noqa: F401

OURS = f"aio-s3-ingest/{__version__}"


class _Recorder:
    """What each request carried as User-Agent, by (method, key, query)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[tuple[str, str, str, str | None]] = []

    def __call__(self, request: Request) -> None:
        with self._lock:
            entry = (request.method, request.key, request.query)
            self.seen.append((*entry, request.headers.get("user-agent")))


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("direct_get", "sdk"),
    [(True, "Botocore/"), (False, "aiobotocore/")],
    ids=["direct", "botocore"],
)
async def test_every_request_sends_botocores_user_agent_with_the_library_version(
    direct_get: bool,
    sdk: str,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    s3: Any,
    bucket: str,
) -> None:
    """The listing and the data GETs each carry botocore's User-Agent ending in
    aio-s3-ingest/<version>, on both GET paths."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=bucket, Key="data/b.csv", Body=b"c,d\n3,4\n")
    recorder = _Recorder()
    proxy.before_forward(recorder, method=None)
    await make_ingester(endpoint_url=proxy.url, direct_get=direct_get).fetch_data()
    listings = [agent for _, key, query, agent in recorder.seen if "list-type=2" in query]
    gets = [agent for method, key, _, agent in recorder.seen if method == "GET" and key]
    assert listings
    assert len(gets) == 2
    for agent in listings + gets:
        assert agent is not None
        assert agent.startswith(sdk), agent
        assert agent.split()[-1] == OURS, agent
