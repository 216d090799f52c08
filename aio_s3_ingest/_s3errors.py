"""The one place where botocore and aiohttp errors become ``aio_s3_ingest.errors``."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import botocore.exceptions as bce

from .errors import (
    ConfigError,
    CredentialsError,
    EndpointError,
    IngestError,
    ObjectChangedError,
    S3AccessError,
    TransferError,
)

if TYPE_CHECKING:
    from ._config import IngestConfig

_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")  # botocore's order

_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
    }
)
_DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "403", "Forbidden"})
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_CA_BUNDLE_HINT = (
    "if a private CA signed it, point AWS_CA_BUNDLE (or ca_bundle in the AWS config file) "
    "at that CA's PEM file"
)


def error_code(exc: BaseException) -> str | None:
    """S3's error code of a ClientError, or None for any other exception."""
    if isinstance(exc, bce.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or None
    return None


def is_object_changed(exc: BaseException) -> bool:
    """True for S3's answer to a failed If-Match: the object is no longer the listed one."""
    if not isinstance(exc, bce.ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 412 or error_code(exc) in _CHANGED_CODES


def certificate_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The failed check of the server's certificate behind ``exc``, if that is its cause.

    It fails the same way on every attempt, so no retry loop of either GET path retries
    it. Both paths wrap it: the direct path in an ``HttpError``, aiobotocore in botocore's
    ``SSLError`` around aiohttp's ``ClientConnectorCertificateError``.
    """
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        inner = getattr(item, "certificate_error", None)  # aiohttp's wrapper is one too
        if isinstance(item, ssl.SSLCertVerificationError) and inner is None:
            return item
        pending += (item.__cause__, item.__context__, inner)
    return None


def translate(
    exc: Exception, *, bucket: str, key: str | None = None, prefix: str | None = None
) -> IngestError:
    """The library error that says, in S3 terms, what went wrong.

    With ``key`` the failure belongs to that object (a TransferError unless it is
    about access, credentials or the endpoint's certificate); without it, to the run as
    a whole.
    """
    where = f"s3://{bucket}/{key if key is not None else prefix or ''}"
    if isinstance(exc, bce.ClientError):
        return _translate_client_error(exc, where, bucket=bucket, key=key)
    if (failure := certificate_failure(exc)) is not None:
        reason = failure.verify_message or str(failure)
        return EndpointError(
            f"the TLS certificate of the S3 endpoint for {where} could not be verified "
            f"({reason}); {_CA_BUNDLE_HINT}"
        )
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return CredentialsError(f"no usable AWS credentials: {exc}")
    if isinstance(exc, bce.ProfileNotFound):
        return ConfigError(f"AWS profile not found: {exc}")
    if isinstance(exc, bce.ParamValidationError):
        return ConfigError(f"invalid request parameters for {where}: {exc}")
    if isinstance(exc, (bce.EndpointConnectionError, bce.ConnectTimeoutError)):
        return EndpointError(f"cannot reach the S3 endpoint for {where}: {exc}")
    if key is not None:
        return TransferError(key, f"{type(exc).__name__}: {exc}")
    return IngestError(f"{where}: {type(exc).__name__}: {exc}")


def _translate_client_error(
    exc: bce.ClientError, where: str, *, bucket: str, key: str | None
) -> IngestError:
    code = error_code(exc) or "Unknown"
    message = exc.response.get("Error", {}).get("Message") or code
    if code == "NoSuchBucket":
        return S3AccessError(f"bucket {bucket!r} does not exist")
    if code in _DENIED_CODES:
        return S3AccessError(f"access denied to {where} ({message})")
    if code in _CREDENTIAL_CODES:
        return CredentialsError(f"S3 refused the credentials for {where}: {code}")
    if key is not None and code in _CHANGED_CODES:
        return ObjectChangedError(key, "the object changed while it was being fetched")
    if key is not None and code in _MISSING_KEY_CODES:
        return TransferError(key, "the object no longer exists")
    if key is not None:
        return TransferError(key, f"S3 answered {code}: {message}")
    return IngestError(f"{where}: S3 answered {code}: {message}")


@contextmanager
def s3_errors(*, bucket: str, key: str | None = None, prefix: str | None = None) -> Iterator[None]:
    """Raise the translated library error for any botocore error in the block."""
    try:
        yield
    except (bce.BotoCoreError, bce.ClientError) as exc:
        raise translate(exc, bucket=bucket, key=key, prefix=prefix) from exc


@contextmanager
def endpoint_named(config: IngestConfig) -> Iterator[None]:
    """An unreachable endpoint's error also says where that endpoint came from, as a
    wrong or stale setting is the usual cause."""
    try:
        yield
    except EndpointError as exc:
        raise EndpointError(f"{exc}; {endpoint_origin(config)}") from exc.__cause__


def endpoint_origin(config: IngestConfig) -> str:
    """Which setting chose the endpoint: ``endpoint_url``, botocore's environment
    variables, or nothing (AWS's own endpoint for the region)."""
    if config.endpoint_url is not None:
        return f"the endpoint {config.endpoint_url} comes from endpoint_url"
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        for name in _ENDPOINT_VARIABLES:
            if os.environ.get(name):
                return f"the endpoint {os.environ[name]} comes from {name}"
    return (
        f"none of endpoint_url, {' or '.join(_ENDPOINT_VARIABLES)} is set, so the endpoint "
        f"is AWS's own for region {config.aws_region_name} (or the AWS config file's)"
    )
