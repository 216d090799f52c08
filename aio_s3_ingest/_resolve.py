"""The direct path's object URL, region and credentials, resolved by botocore itself.

Synchronous botocore on a worker thread, not aiobotocore: importing aiobotocore (and
aiohttp under it) costs a process 0.15 s of its start and exit here, more than the
transfer of a small dataset, and its client takes 0.09 s to build against botocore's
0.06 s. The credential chain, profiles, endpoint rules and addressing style are the
same botocore code either way.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Any

import anyio
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from ._config import IngestConfig
from ._getter import UseBotocore
from ._sigv4 import Credentials
from .errors import CredentialsError

_PROBE_KEY = "aio-s3-ingest-probe"
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy"})

NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "configure a profile (aws_profile_name), or pass anonymous=True for a public bucket"
)


class CredentialSource:
    """botocore's credentials, frozen for each signature.

    botocore refreshes them with blocking calls (STS, the instance metadata service),
    so a refresh that is due runs on a worker thread, one at a time; credentials that
    never expire are frozen once.
    """

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials
        self._refreshable = isinstance(credentials, RefreshableCredentials)
        self._fixed = None if self._refreshable else _ours(credentials.get_frozen_credentials())
        self._refreshing = anyio.Lock()

    async def frozen(self) -> Credentials:
        if self._fixed is not None:
            return self._fixed
        credentials = self._credentials
        if credentials.refresh_needed():
            async with self._refreshing:
                frozen = await anyio.to_thread.run_sync(credentials.get_frozen_credentials)
            return _ours(frozen)
        return _ours(credentials.get_frozen_credentials())


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Everything the direct path needs from botocore, once per run."""

    base_url: str  # everything before the key, in botocore's addressing style
    region: str
    credentials: CredentialSource | None  # None: anonymous
    tls: ssl.SSLContext | None  # None: plain HTTP


def resolve_endpoint(config: IngestConfig) -> Endpoint:
    """Blocking (it may read files and ask the network for credentials): run it on a
    worker thread. Raises :class:`UseBotocore` where the direct path does not serve."""
    from_env = sorted(name for name in os.environ if name.lower() in _PROXY_VARIABLES)
    if from_env:  # proxies stay botocore's business
        raise UseBotocore(f"a proxy is configured ({', '.join(from_env)})")
    session = botocore.session.Session(profile=config.aws_profile_name)
    credentials = None if config.anonymous else _credentials(session)
    client = session.create_client(
        "s3",
        region_name=config.aws_region_name,
        endpoint_url=config.endpoint_url,
        config=Config(signature_version=UNSIGNED if config.anonymous else None),
    )
    try:
        base_url = _object_base_url(client, config.s3_bucket_name)
        region: str = client.meta.region_name
    finally:
        client.close()
    tls = _ssl_context(session) if base_url.startswith("https:") else None
    return Endpoint(base_url=base_url, region=region, credentials=credentials, tls=tls)


def _credentials(session: botocore.session.Session) -> CredentialSource:
    credentials = session.get_credentials()
    if credentials is None:
        raise CredentialsError(NO_CREDENTIALS)
    credentials.get_frozen_credentials()  # deferred ones (SSO, assume-role) fetch here
    return CredentialSource(credentials)


def _ours(frozen: Any) -> Credentials:
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def _object_base_url(client: Any, bucket: str) -> str:
    url: str = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}
    )
    base = url.split("?", 1)[0]
    if not base.endswith("/" + _PROBE_KEY):
        raise UseBotocore(f"unexpected object URL shape {base!r}")
    return base[: -len(_PROBE_KEY)]


def _ssl_context(session: botocore.session.Session) -> ssl.SSLContext:
    """Verify TLS against the same CA bundle botocore would use."""
    from botocore.httpsession import get_cert_path

    bundle = session.get_config_variable("ca_bundle") or get_cert_path(True)
    return ssl.create_default_context(cafile=bundle if isinstance(bundle, str) else None)
