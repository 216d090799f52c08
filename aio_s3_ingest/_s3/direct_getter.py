"""Signed GETs on a lean HTTP/1.1 client: botocore's addressing without its per-call machinery.

Through ``get_object`` every GET pays CPU for botocore's per-call machinery (endpoint
rules, event hooks, user-agent, header and date parsing) before a byte is written,
which weighs most on small objects (figures: benchmarks/README.md, "Design figures
behind the code"). On this path the object URL comes from botocore once per run
(:mod:`.resolve`: a presigned URL for a probe key gives the addressing style and host),
each request is signed (:mod:`.sigv4`, checked against botocore's signer) with
botocore's (refreshing) credentials, and S3 errors are parsed and mapped exactly as the
botocore path maps them. Retries follow botocore's standard mode (5xx, throttling and
connection errors; see :mod:`aio_s3_ingest._retry`), with jittered exponential backoff,
within the range's budget of attempts.
"""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

from .._http.pool import HttpPool, Response
from .._integrity.expected import CHECKSUM_MODE
from .._models import ObjectInfo
from .._retry import (
    NO_ANSWER,
    REGION_CODES,
    THROTTLE_CODES,
    Attempts,
    RetryPolicy,
    describe,
    retryable_answer,
)
from .._s3errors import certificate_failure, is_object_changed, translate
from ..errors import EndpointError, TransferError
from .getter import Body, ObjectChanged, UseBotocore, whole_object
from .sigv4 import GetSigner, host_header, query
from .throttle import Throttle

if TYPE_CHECKING:
    from .._config import IngestConfig
    from .._run import Run
    from .resolve import CredentialSource, Endpoint

_LISTING_LIMIT = 64 * 1024 * 1024  # a page of 1,000 keys of 1,024 bytes is under 2 MiB


_OPERATIONS = {"GET": "GetObject", "HEAD": "HeadObject"}


class _GaveUp(Exception):
    """Every attempt failed with a retryable error; the last one is the cause."""


class DirectGetter:
    """GETs on a connection pool of its own, signed like botocore signs them."""

    def __init__(
        self,
        http: HttpPool,
        base_url: str,
        *,
        bucket: str,
        region: str,
        credentials: CredentialSource | None,
        retry: RetryPolicy,
        throttle: Throttle,
        user_agent: str,
        checksums: bool = False,
    ) -> None:
        self._http = http
        parts = urllib.parse.urlsplit(base_url)
        self._base_path = parts.path
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host = host_header(parts)
        self._bucket = bucket
        self._credentials = credentials
        self._retry = retry
        self._throttle = throttle
        self._signer = GetSigner(region)
        self._user_agent = user_agent
        self._checksums = checksums

    @property
    def tls(self) -> bool:
        """Whether the GETs go over HTTPS."""
        return self._origin.startswith("https:")

    @classmethod
    def create(
        cls, endpoint: Endpoint, config: IngestConfig, throttle: Throttle, retry: RetryPolicy
    ) -> DirectGetter:
        """A getter on its own connection pool for what botocore resolved."""
        parts = urllib.parse.urlsplit(endpoint.base_url)
        https = parts.scheme == "https"
        http = HttpPool(
            parts.hostname or "",
            parts.port or (443 if https else 80),
            tls=endpoint.tls,
            limit=config.max_requests,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            proxy=endpoint.proxy,
        )
        return cls(
            http,
            endpoint.base_url,
            bucket=config.s3_bucket_name,
            region=endpoint.region,
            credentials=endpoint.credentials,
            retry=retry,
            throttle=throttle,
            user_agent=endpoint.user_agent,
            checksums=config.asks_for_checksums,
        )

    async def open(self, obj: ObjectInfo, start: int, end: int, attempts: Attempts) -> Body:
        headers = {"If-Match": obj.etag}
        if self._checksums:
            headers.update(CHECKSUM_MODE)
        if not (self._checksums and whole_object(obj, start, end)):
            headers["Range"] = f"bytes={start}-{end - 1}"
        return await self._object_request(obj, headers, attempts, expect=end - start)

    async def head(
        self, obj: ObjectInfo, attempts: Attempts, part: int | None = None
    ) -> Mapping[str, str]:
        headers = {"If-Match": obj.etag, **CHECKSUM_MODE}
        query_string = "" if part is None else f"?partNumber={part}"
        response = await self._object_request(obj, headers, attempts, "HEAD", query_string)
        response.release()
        return response.headers

    async def _object_request(
        self,
        obj: ObjectInfo,
        headers: dict[str, str],
        attempts: Attempts,
        method: str = "GET",
        query_string: str = "",
        expect: int = 0,
    ) -> Response:
        quoted = urllib.parse.quote(obj.key, safe="/~") + query_string
        try:
            return await self._send(
                quoted, headers, attempts, key=obj.key, expect=expect, method=method
            )
        except _GaveUp as exc:
            raise TransferError(obj.key, str(exc)) from exc.__cause__

    async def list_page(self, params: dict[str, str], run: Run) -> bytes:
        """The body of one ListObjectsV2 page: the bucket's URL with ``params`` as query;
        one request, with a budget of attempts of its own."""
        target = "?" + query(params)
        prefix = params.get("prefix", "")
        if self._base_path != "/":  # path style: /bucket, not /bucket/
            target = self._base_path.rstrip("/") + target
        try:
            attempts = self._retry.attempts(run)
            response = await self._send(target, {}, attempts, key=None, prefix=prefix)
        except _GaveUp as exc:
            cause = exc.__cause__
            if isinstance(cause, bce.ClientError):  # 5xx or throttling to the last attempt
                raise translate(cause, bucket=self._bucket, prefix=prefix) from cause
            where = f"s3://{self._bucket}/{prefix}"
            raise EndpointError(f"cannot reach the S3 endpoint for {where}: {exc}") from cause
        try:
            return await response.read_all(_LISTING_LIMIT)
        finally:
            response.release()

    async def _send(
        self,
        target: str,
        headers: dict[str, str],
        attempts: Attempts,
        *,
        key: str | None,
        prefix: str | None = None,
        expect: int = 0,
        method: str = "GET",
    ) -> Response:
        """A signed GET (or HEAD) of ``target`` (after the bucket's base path, or a whole
        path from ``/``), retried while ``attempts`` last; a 2xx response with a length.
        ``key``, or for a listing ``prefix``, is what an error names; ``expect``: the
        body's size."""
        path = target if target.startswith("/") else self._base_path + target
        url = self._origin + path
        last: BaseException | None = None
        while attempts.left:
            attempts.take()
            try:
                async with self._throttle.slot():
                    signed = await self._headers(url, headers, method)
                    response = await self._http.get(path, signed, expect=expect, method=method)
            except NO_ANSWER as exc:
                if certificate_failure(exc) is not None:  # no attempt would fare better
                    raise translate(exc, bucket=self._bucket, key=key, prefix=prefix) from exc
                last = exc
            else:
                # Object bytes need a length up front; a listing may come chunked.
                if response.status in (200, 206) and (response.content_length >= 0 or key is None):
                    self._throttle.on_success()
                    return response
                last = await self._error(response, attempts.run, key, prefix, method)
            if attempts.left:
                await attempts.backoff()
        raise _GaveUp(f"gave up after {attempts.used} attempt(s); last: {describe(last)}") from last

    async def aclose(self) -> None:
        self._http.close()

    async def _headers(self, url: str, headers: dict[str, str], method: str) -> dict[str, str]:
        """Host, ``headers`` signed, and the User-Agent, which botocore sends unsigned
        (``user-agent`` is on its list of headers SigV4 leaves out)."""
        signed = headers
        if self._credentials is not None:
            credentials = await self._credentials.frozen()
            signed = self._signer.sign(url, headers, credentials, method=method)
        return {"Host": self._host, **signed, "User-Agent": self._user_agent}

    async def _error(
        self, response: Response, run: Run, key: str | None, prefix: str | None, method: str
    ) -> BaseException:
        """The error to retry on, or raise the one that ends this object."""
        if 200 <= response.status < 300:
            response.close()
            raise UseBotocore(f"a {response.status} GET response without Content-Length")
        try:
            code, message = _parse_error(await response.read_all(), response.status)
        finally:
            response.release()
        operation = _OPERATIONS[method] if key is not None else "ListObjectsV2"
        if response.status == 503 or code in THROTTLE_CODES:
            self._throttle.on_throttled(key or "(listing)", run)
        if retryable_answer(response.status, code):
            return bce.ClientError(_error_dict(code, message, response.status), operation)
        if 300 <= response.status < 400 or code in REGION_CODES:
            raise UseBotocore(f"{response.status} {code} for s3://{self._bucket}/{key or ''}")
        error = bce.ClientError(_error_dict(code, message, response.status), operation)
        if key is not None and is_object_changed(error):
            raise ObjectChanged
        raise translate(error, bucket=self._bucket, key=key, prefix=prefix) from error


def _parse_error(body: bytes, status: int) -> tuple[str, str]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return str(status), body[:200].decode("utf-8", "replace") or f"HTTP {status}"
    return root.findtext("Code") or str(status), root.findtext("Message") or ""


def _error_dict(code: str, message: str, status: int) -> Any:
    return {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
