"""The one place that builds S3 clients: profile, region, endpoint, signing, pool size."""

from __future__ import annotations

import contextlib
import datetime as dt
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore import UNSIGNED
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from ._config import IngestConfig
from ._directget import DirectGetter
from ._getter import BotocoreGetter, FallbackGetter, Getter, UseBotocore
from ._log import logger
from ._s3errors import s3_errors
from ._throttle import Throttle
from .errors import CredentialsError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# Listing, HEADs and the S3 manifest share the pool with the data GETs.
_SPARE_CONNECTIONS = 4


@dataclass(frozen=True, slots=True)
class S3Handles:
    """The botocore client (HEAD, the S3 manifest, and whatever the direct path declines),
    the getter that fetches object bytes, and the direct path if the run has one."""

    client: S3Client
    getter: Getter
    direct: DirectGetter | None = None


async def open_s3(config: IngestConfig, stack: AsyncExitStack) -> S3Handles:
    """Clients whose pools fit every request the run keeps in flight.

    A new session per call, so credentials changed between runs are picked up.
    """
    with s3_errors(bucket=config.s3_bucket_name):
        session = AioSession(profile=config.aws_profile_name)
        session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=parse_timestamp
        )
        if not config.anonymous:
            await _require_credentials(session)
        client: S3Client = await stack.enter_async_context(_create_client(session, config))
        getter, direct = await _open_getter(config, client, session, stack)
    return S3Handles(client=client, getter=getter, direct=direct)


def _create_client(session: AioSession, config: IngestConfig) -> Any:
    client_config = AioConfig(
        max_pool_connections=config.max_requests + _SPARE_CONNECTIONS,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        # total_max_attempts counts the first try; botocore's max_attempts would not.
        retries={"mode": "standard", "total_max_attempts": config.max_attempts},
        signature_version=UNSIGNED if config.anonymous else None,
    )
    return session.create_client(
        "s3",
        region_name=config.aws_region_name,
        endpoint_url=config.endpoint_url,
        config=client_config,
    )


async def _open_getter(
    config: IngestConfig, client: S3Client, session: AioSession, stack: AsyncExitStack
) -> tuple[Getter, DirectGetter | None]:
    throttle = Throttle(config.max_requests)
    botocore_getter = BotocoreGetter(client, config.s3_bucket_name, throttle)
    if not config.direct_get:
        return botocore_getter, None
    try:
        direct = await DirectGetter.create(client, session, config, throttle)
    except UseBotocore as exc:
        logger.debug("direct GETs unavailable: %s", exc)
        return botocore_getter, None
    getter = FallbackGetter(direct, botocore_getter)
    stack.push_async_callback(getter.aclose)
    return getter, direct


def parse_timestamp(value: str | int | float) -> dt.datetime:
    """S3's ISO-8601 listing times, parsed without dateutil (most of a listing's CPU)."""
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T":
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        with contextlib.suppress(ValueError):
            parsed = dt.datetime.fromisoformat(text)
            if parsed.tzinfo is not None:
                return parsed
    return botocore_parse_timestamp(value)  # type: ignore[arg-type]  # epochs work too


async def _require_credentials(session: AioSession) -> None:
    credentials = await session.get_credentials()
    if credentials is None:
        raise CredentialsError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "configure a profile (aws_profile_name), or pass anonymous=True for a public bucket"
        )
