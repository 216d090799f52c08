"""The direct path's object URL, region and credentials, resolved by botocore itself.

Synchronous botocore on a worker thread, not aiobotocore: importing aiobotocore (and
aiohttp under it) adds more to a process's start and exit than the transfer of a small
dataset takes, and its client is slower to build than botocore's (figures:
benchmarks/README.md, "Design figures behind the code"). The credential chain, profiles,
endpoint rules and addressing style are the same botocore code either way.
"""

from __future__ import annotations

import gzip
import json
import os
import ssl
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import botocore.loaders
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import DataNotFoundError
from botocore.utils import get_environ_proxies

from .._config import IngestConfig
from .._http.proxy import Proxy
from .._version import __version__
from ..errors import CredentialsError
from .getter import UseBotocore
from .sigv4 import Credentials

_PROBE_KEY = "aio-s3-ingest-probe"

# Appended to botocore's User-Agent on both GET paths, so S3 logs tell this library apart.
USER_AGENT_EXTRA = f"aio-s3-ingest/{__version__}"

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
    user_agent: str  # botocore's, ending in USER_AGENT_EXTRA
    proxy: Proxy | None = None  # the HTTP proxy requests go through, from the environment


def resolve_endpoint(config: IngestConfig) -> Endpoint:
    """Blocking (it may read files and ask the network for credentials): run it on a
    worker thread. Raises :class:`UseBotocore` where the direct path does not serve."""
    session = botocore.session.Session(profile=config.aws_profile_name)
    session.register_component("data_loader", _data_loader(session))
    credentials = None if config.anonymous else _credentials(session)
    client = session.create_client(
        "s3",
        region_name=config.aws_region_name,
        endpoint_url=config.endpoint_url,
        config=_client_config(session, config),
    )
    try:
        base_url = _object_base_url(client, config.s3_bucket_name)
        region: str = client.meta.region_name
        user_agent: str = client.meta.config.user_agent  # type: ignore[attr-defined]
    finally:
        client.close()
    tls = _ssl_context(session) if base_url.startswith("https:") else None
    return Endpoint(
        base_url=base_url,
        region=region,
        credentials=credentials,
        tls=tls,
        user_agent=user_agent,
        proxy=_proxy_for(base_url),
    )


def _proxy_for(base_url: str) -> Proxy | None:
    """The proxy botocore would use for ``base_url`` (``HTTP(S)_PROXY``, ``NO_PROXY``), read
    with its own helper so that both GET paths agree; one this client does not speak
    (not ``http://``) leaves the run to botocore."""
    url = get_environ_proxies(base_url).get(urllib.parse.urlsplit(base_url).scheme)
    if not url:
        return None
    try:
        return Proxy.from_url(url)
    except ValueError as exc:
        raise UseBotocore(f"the proxy for {base_url}: {exc}") from None


def _client_config(session: botocore.session.Session, config: IngestConfig) -> Config:
    """What shapes the client's User-Agent as botocore's own requests would carry it.

    ``meta.config.user_agent`` is built from this Config, not from the session's settings,
    so the app id (``AWS_SDK_UA_APP_ID``, ``sdk_ua_app_id``) is passed in explicitly;
    the retry mode is the one the direct path follows.
    """
    return Config(  # type: ignore[call-arg]  # botocore-stubs lack user_agent_appid
        signature_version=UNSIGNED if config.anonymous else None,
        retries={"mode": "standard"},
        user_agent_extra=USER_AGENT_EXTRA,
        user_agent_appid=session.get_config_variable("user_agent_appid"),
    )


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


# botocore's models, loaded for the resolve's session a little faster.
#
# With botocore's own loader, building the S3 client costs about as much as a small
# dataset's whole transfer: botocore parses its JSON models into OrderedDicts, and checks
# that "s3" exists by listing every service it knows (a folder each, twice). Plain dicts
# keep the same order and parse faster, and the GC leaves out those that hold no
# containers; asking for one service looks in that service's folder only. Measured:
# benchmarks/README.md, "Design figures behind the code".


def _data_loader(session: botocore.session.Session) -> botocore.loaders.Loader:
    """The loader botocore would make (``AWS_DATA_PATH`` honoured), with the changes above."""
    data_path = session.get_config_variable("data_path")
    extra = None
    if data_path is not None:
        extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
    return _Loader(extra_search_paths=extra, file_loader=_PlainJSONFiles())


class _PlainJSONFiles(botocore.loaders.JSONFileLoader):
    """botocore's file loader, but ``.json`` and ``.json.gz`` files parse to plain dicts;
    any other form botocore may know is left to it."""

    def load_file(self, file_path: str) -> Any:
        if os.path.isfile(file_path + ".json"):
            with open(file_path + ".json", "rb") as plain:
                return json.loads(plain.read())
        if os.path.isfile(file_path + ".json.gz"):
            with gzip.open(file_path + ".json.gz", "rb") as packed:
                return json.loads(packed.read())
        return super().load_file(file_path)


class _Loader(botocore.loaders.Loader):
    # Not a list: botocore's load_service_model only asks ``in`` of it, and iterates it
    # for its error message.
    def list_available_services(self, type_name: str) -> _KnownServices:  # type: ignore[override]
        return _KnownServices(self, type_name)


class _KnownServices:
    """The services botocore has a ``type_name`` model for: a lookup checks the one
    asked about; only listing them all (botocore's error message) walks every folder."""

    def __init__(self, loader: _Loader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            return bool(self._loader.list_api_versions(name, self._type_name))
        except DataNotFoundError:
            return False

    def __iter__(self) -> Iterator[str]:
        everything = botocore.loaders.Loader.list_available_services
        return iter(everything(self._loader, self._type_name))
