"""The one place that builds S3 clients: profile, region, endpoint, signing, pool size."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore import UNSIGNED

from ._config import IngestConfig
from ._s3errors import s3_errors
from .errors import CredentialsError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# Listing, HEADs and the S3 manifest share the pool with the data GETs.
_SPARE_CONNECTIONS = 4


async def open_client(config: IngestConfig, stack: AsyncExitStack) -> S3Client:
    """An S3 client whose pool fits every request the run keeps in flight.

    A new session per call, so credentials changed between runs are picked up.
    """
    session = AioSession(profile=config.aws_profile_name)
    with s3_errors(bucket=config.s3_bucket_name):
        if not config.anonymous:
            await _require_credentials(session)
        client_config = AioConfig(
            max_pool_connections=config.max_requests + _SPARE_CONNECTIONS,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            # total_max_attempts counts the first try; botocore's max_attempts would not.
            retries={"mode": "standard", "total_max_attempts": config.max_attempts},
            signature_version=UNSIGNED if config.anonymous else None,
        )
        creator = session.create_client(
            "s3",
            region_name=config.aws_region_name,
            endpoint_url=config.endpoint_url,
            config=client_config,
        )
        client: S3Client = await stack.enter_async_context(creator)
    return client


async def _require_credentials(session: AioSession) -> None:
    credentials = await session.get_credentials()
    if credentials is None:
        raise CredentialsError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "configure a profile (aws_profile_name), or pass anonymous=True for a public bucket"
        )
