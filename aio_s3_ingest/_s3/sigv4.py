"""AWS Signature Version 4 for the requests with no body this library sends: S3 GETs and HEADs.

botocore's ``S3SigV4Auth`` builds an ``AWSRequest``, prepares it, parses its URL twice
and walks generic code paths for every request, a large share of the event loop's time
on small objects (figures: benchmarks/README.md, "Design figures behind the code").
This signs the same canonical request directly and caches the derived signing key per
day; ``tests/unit/test_sigv4.py`` checks that its ``Authorization`` header is identical to
botocore's for the same inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import urllib.parse
from typing import NamedTuple

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_ALGORITHM = "AWS4-HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Credentials(NamedTuple):
    """Frozen credentials, as botocore's ``get_frozen_credentials()`` returns them."""

    access_key: str
    secret_key: str
    token: str | None


class GetSigner:
    """Signs GETs of one endpoint and region; keeps the day's signing key."""

    def __init__(self, region: str, service: str = "s3") -> None:
        self._region = region
        self._service = service
        self._key_cache: tuple[str, str, bytes] | None = None  # (secret, date, key)
        self._hosts: dict[str, str] = {}  # Host header by scheme://netloc

    def sign(
        self,
        url: str,
        headers: dict[str, str],
        credentials: Credentials,
        now: dt.datetime | None = None,
        method: str = "GET",
    ) -> dict[str, str]:
        """``headers`` plus the date, payload hash, token and ``Authorization`` headers.

        ``url`` must be already percent-encoded, exactly as it is sent; query values
        encoded with ``safe="-_.~"`` (as :func:`query` does).
        """
        moment = now or dt.datetime.now(dt.timezone.utc)
        amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        date = amz_date[:8]
        signed = dict(headers)
        signed["X-Amz-Date"] = amz_date
        signed["X-Amz-Content-SHA256"] = EMPTY_SHA256
        if credentials.token:
            signed["X-Amz-Security-Token"] = credentials.token
        signed_headers, request = self._canonical_request(url, signed, method)
        scope = f"{date}/{self._region}/{self._service}/aws4_request"
        to_sign = "\n".join(
            (_ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest())
        )
        key = self._signing_key(credentials.secret_key, date)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        signed["Authorization"] = (
            f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        return signed

    def _canonical_request(self, url: str, headers: dict[str, str], method: str) -> tuple[str, str]:
        """The signed header names and SigV4's canonical request of ``method`` ``url``."""
        origin, path, query_string = self._split(url)
        canonical = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
        canonical["host"] = origin
        names = sorted(canonical)
        signed_headers = ";".join(names)
        request = "\n".join(
            (
                method,
                path,
                "&".join(sorted(query_string.split("&"))) if query_string else "",
                "".join(f"{name}:{canonical[name]}\n" for name in names),
                signed_headers,
                EMPTY_SHA256,
            )
        )
        return signed_headers, request

    def _split(self, url: str) -> tuple[str, str, str]:
        """The Host header, path and query of ``url``; the host parsed once per origin, as
        ``urlsplit`` per request stood out in the loop's profile on small objects."""
        path_start = url.find("/", url.find("://") + 3)
        origin = url if path_start < 0 else url[:path_start]
        host = self._hosts.get(origin)
        if host is None:
            host = self._hosts[origin] = host_header(urllib.parse.urlsplit(origin))
        path, _, query_string = ("/" if path_start < 0 else url[path_start:]).partition("?")
        return host, path, query_string

    def _signing_key(self, secret: str, date: str) -> bytes:
        cached = self._key_cache
        if cached is not None and cached[0] == secret and cached[1] == date:
            return cached[2]
        key = ("AWS4" + secret).encode()
        for part in (date, self._region, self._service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key_cache = (secret, date, key)
        return key


def query(params: dict[str, str]) -> str:
    """A query string encoded as SigV4 canonicalizes it, so it is signed as it is sent."""
    return "&".join(
        f"{urllib.parse.quote(name, safe='-_.~')}={urllib.parse.quote(value, safe='-_.~')}"
        for name, value in params.items()
    )


def host_header(parts: urllib.parse.SplitResult) -> str:
    """The Host header botocore signs: the port only when it is not the scheme's default."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return host
