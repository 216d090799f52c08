"""What S3 says an object's checksum is, read from a response's headers or fields.

S3 returns a checksum (with ``x-amz-checksum-mode: ENABLED``) on a GET of the whole
object and on a HEAD, never on a ranged GET. A full-object checksum covers the bytes of
the object; a composite one (the value ends in ``-N``) is the checksum of the
concatenated checksums of the N parts of a multipart upload. Where S3 has none, a
single-part object's ETag is the MD5 of its bytes, unless it is encrypted with KMS or a
customer key.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from .algorithms import ALGORITHMS

CHECKSUM_MODE = {"x-amz-checksum-mode": "ENABLED"}
"""The request header that asks S3 for an object's checksum."""


@dataclass(frozen=True, slots=True)
class Checksum:
    """An object's checksum: S3's algorithm name, the base64 value, and for a composite
    checksum the number of parts it joins (0 for a full-object checksum)."""

    algorithm: str
    value: str
    parts: int = 0

    def __str__(self) -> str:
        """How the local manifest and the report write it: ``CRC64NVME:base64[-N]``."""
        suffix = f"-{self.parts}" if self.parts else ""
        return f"{self.algorithm}:{self.value}{suffix}"

    @classmethod
    def parse(cls, text: str) -> Checksum:
        """The inverse of ``str()``; ValueError if ``text`` is not of that form."""
        algorithm, sep, value = text.partition(":")
        if not sep or algorithm not in ALGORITHMS or not value:
            raise ValueError(f"not a checksum: {text!r}")
        return _checksum(algorithm, value)


# Each algorithm's response header, built once: every GET's headers are searched.
_HEADERS = tuple((name, f"x-amz-checksum-{name.lower()}") for name in ALGORITHMS)


def from_headers(headers: Mapping[str, str]) -> Checksum | None:
    """The checksum in a GET or HEAD response's headers (names lower-cased), if any."""
    for name, header in _HEADERS:
        value = headers.get(header)
        if value:
            return _checksum(name, value)
    return None


def from_etag(etag: str, headers: Mapping[str, str]) -> Checksum | None:
    """The MD5 an ETag is, as a checksum: only a single-part upload's ETag (no ``-N``)
    of an object not encrypted with KMS or a customer key (``headers`` tell) is one."""
    digest = etag.strip('"')
    encryption = headers.get("x-amz-server-side-encryption", "")
    if (
        encryption.startswith("aws:kms")
        or "x-amz-server-side-encryption-customer-algorithm" in headers
    ):
        return None
    if len(digest) != 32 or any(char not in "0123456789abcdef" for char in digest.lower()):
        return None
    return Checksum("MD5", base64.b64encode(bytes.fromhex(digest)).decode("ascii"))


def _checksum(algorithm: str, value: str) -> Checksum:
    digest, sep, parts = value.partition("-")  # base64 has no '-'
    if sep and parts.isdigit() and int(parts) > 0:
        return Checksum(algorithm, digest, int(parts))
    return Checksum(algorithm, value)
