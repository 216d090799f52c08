"""The one place that builds S3 clients: profile, region, endpoint, signing, pool size.

A run on the direct path gets its object URL and credentials from botocore
(:mod:`.resolve`) and opens an aiobotocore client only once it needs one: a HEAD after
an object changed, or whatever the direct path declines (a redirect to another region).
Without the direct path the client is opened at the start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from .._config import IngestConfig
from .._log import logger
from .._models import ObjectInfo
from .._retry import Attempts, RetryPolicy
from .._s3errors import certificate_failure, s3_errors
from ..errors import CredentialsError
from .direct_getter import DirectGetter
from .getter import Body, FallbackGetter, Getter, UseBotocore
from .resolve import NO_CREDENTIALS, USER_AGENT_EXTRA, resolve_endpoint
from .throttle import Throttle

if TYPE_CHECKING:
    from aiobotocore.session import AioSession
    from types_aiobotocore_s3 import S3Client

# Listing, HEADs and the S3 manifest share the pool with the data GETs.
_SPARE_CONNECTIONS = 4


@dataclass(frozen=True)
class S3Handles:
    """What a run reaches S3 through, chosen once when it opens: the getter that fetches
    object bytes, the direct path if the run has one (the getter and the listing use it),
    the aiobotocore client (HEAD, and whatever the direct path declines), opened on
    demand, and the retry policy every request follows."""

    getter: Getter
    direct: DirectGetter | None
    client: Callable[[], Awaitable[S3Client]]
    retry: RetryPolicy


class _Botocore:
    """The aiobotocore client and its getter, opened the first time either is asked for
    (a run on the direct path may never need them)."""

    def __init__(self, config: IngestConfig, stack: AsyncExitStack, throttle: Throttle) -> None:
        self._config = config
        self._stack = stack
        self._throttle = throttle
        self._client: S3Client | None = None
        self._getter: Getter | None = None
        self._opening = anyio.Lock()

    async def client(self) -> S3Client:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    await self._open()
        assert self._client is not None
        return self._client

    async def getter(self) -> Getter:
        await self.client()
        assert self._getter is not None
        return self._getter

    async def open(self, obj: ObjectInfo, start: int, end: int, attempts: Attempts) -> Body:
        return await (await self.getter()).open(obj, start, end, attempts)

    async def head(
        self, obj: ObjectInfo, attempts: Attempts, part: int | None = None
    ) -> Mapping[str, str]:
        return await (await self.getter()).head(obj, attempts, part)

    async def aclose(self) -> None:
        """The client belongs to the run's exit stack."""

    async def _open(self) -> None:
        from .botocore_getter import BotocoreGetter  # imports aiobotocore and aiohttp

        config = self._config
        with s3_errors(bucket=config.s3_bucket_name):
            session = _aio_session(config)
            if not config.anonymous:
                await _require_credentials(session)
            client = await self._stack.enter_async_context(_create_client(session, config))
        client.meta.events.register_first("needs-retry.s3", _final_on_certificate_failure)
        self._getter = BotocoreGetter(
            client, config.s3_bucket_name, self._throttle, checksums=config.asks_for_checksums
        )
        self._client = client


async def open_s3(config: IngestConfig, stack: AsyncExitStack) -> S3Handles:
    """Clients whose pools fit every request the run keeps in flight; the getter is the
    direct path (botocore behind it, for what it declines) where it serves, else botocore.

    Resolved anew per call, so credentials changed between runs are picked up.
    """
    throttle = Throttle(config.max_requests)
    retry = RetryPolicy(config.max_attempts)
    botocore = _Botocore(config, stack, throttle)
    direct = await _open_direct(config, throttle, retry) if config.direct_get else None
    getter: Getter
    if direct is None:
        getter = await botocore.getter()
    else:
        getter = FallbackGetter(direct, botocore)
        stack.push_async_callback(getter.aclose)
    return S3Handles(getter=getter, direct=direct, client=botocore.client, retry=retry)


async def _open_direct(
    config: IngestConfig, throttle: Throttle, retry: RetryPolicy
) -> DirectGetter | None:
    """The direct path, or None where it does not serve."""
    try:
        with s3_errors(bucket=config.s3_bucket_name):
            endpoint = await anyio.to_thread.run_sync(resolve_endpoint, config)
    except UseBotocore as exc:
        logger.debug("direct GETs unavailable: %s", exc)
        return None
    return DirectGetter.create(endpoint, config, throttle, retry)


def _aio_session(config: IngestConfig) -> AioSession:
    from aiobotocore.session import AioSession

    session = AioSession(profile=config.aws_profile_name)
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp
    )
    return session


def _create_client(session: AioSession, config: IngestConfig) -> Any:
    from aiobotocore.config import AioConfig
    from botocore import UNSIGNED

    client_config = AioConfig(
        max_pool_connections=config.max_requests + _SPARE_CONNECTIONS,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        # total_max_attempts counts the first try; botocore's max_attempts would not.
        retries={"mode": "standard", "total_max_attempts": config.max_attempts},
        signature_version=UNSIGNED if config.anonymous else None,
        user_agent_extra=USER_AGENT_EXTRA,
    )
    return session.create_client(
        "s3",
        region_name=config.aws_region_name,
        endpoint_url=config.endpoint_url,
        config=client_config,
    )


def _final_on_certificate_failure(
    caught_exception: BaseException | None = None, **_: object
) -> None:
    """botocore's standard mode retries every connection error, a certificate it cannot
    verify too; that fails the same way each time, so it ends the call at the first."""
    if caught_exception is not None and certificate_failure(caught_exception) is not None:
        raise caught_exception


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
        raise CredentialsError(NO_CREDENTIALS)
