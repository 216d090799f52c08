"""Credentials S3 refuses: the error names the whole location the run was asked for."""

from __future__ import annotations

import pytest

from aio_s3_ingest import CredentialsError
from tests._helpers import MakeIngester
from tests._proxy import FaultProxy, Request, proxy_fixture  # noqa: F401


def _is_listing(request: Request) -> bool:
    return "list-type=2" in request.query


@pytest.mark.asyncio
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_refused_credentials_name_the_bucket_and_prefix(
    direct_get: bool, proxy: FaultProxy, make_ingester: MakeIngester, bucket: str
) -> None:
    """S3 refusing the credentials for the listing raises CredentialsError naming
    s3://bucket/prefix, on both GET paths."""
    proxy.respond(403, "InvalidAccessKeyId", when=_is_listing)
    ingester = make_ingester("exports/2024/", endpoint_url=proxy.url, direct_get=direct_get)
    with pytest.raises(CredentialsError) as info:
        await ingester.fetch_data()
    assert f"s3://{bucket}/exports/2024/" in str(info.value)
