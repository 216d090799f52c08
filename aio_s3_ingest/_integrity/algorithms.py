"""The checksum algorithms S3 reports, and what computes each one here.

CRC32, SHA-1, SHA-256, SHA-512 and MD5 come from the standard library. CRC32C, CRC64NVME
and the xxHash family need awscrt (the ``crt`` extra, the library botocore uses for
them), which also combines the CRCs of consecutive spans: the spans of one file are
then hashed on several threads and joined, instead of in one pass. (zlib's CRC32 is the
faster of the two here, 4.1 against 3.0 GB/s, so it is used even where awscrt is.)
"""

from __future__ import annotations

import hashlib
import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from .._log import logger


class Hasher(Protocol):
    """An incremental checksum: hashlib's interface."""

    def update(self, data: Any, /) -> None: ...

    def digest(self) -> bytes: ...


Combine = Callable[[int, int, int], int]
"""CRC(A), CRC(B), len(B) -> CRC(A || B)."""


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One of S3's checksum algorithms as this process can compute it."""

    name: str  # S3's name: x-amz-checksum-<name lower-cased>
    new: Callable[[], Hasher] | None  # None: no library here computes it
    crc_width: int = 0  # bytes of a CRC's value; 0: not a CRC
    combine: Combine | None = None  # joins the CRCs of consecutive spans

    @property
    def available(self) -> bool:
        return self.new is not None


class Crc:
    """A running CRC behind hashlib's interface; ``value`` is what a combine joins."""

    def __init__(self, function: Callable[[Any, int], int], width: int) -> None:
        self._function = function
        self._width = width
        self.value = 0

    def update(self, data: Any, /) -> None:
        self.value = self._function(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(self._width, "big")


class _XXHash:
    def __init__(self, native: Any) -> None:
        self._native = native

    def update(self, data: Any, /) -> None:
        self._native.update(data)

    def digest(self) -> bytes:
        return bytes(self._native.finalize())


def _awscrt_checksums() -> ModuleType | None:
    try:
        return importlib.import_module("awscrt.checksums")
    except ImportError:
        return None


def _crc(name: str, function: Any, width: int, combine: Any) -> Algorithm:
    if function is None:
        return Algorithm(name, None, width)
    return Algorithm(name, lambda: Crc(function, width), width, combine)


def _xxhash(name: str, crt: ModuleType | None, factory: str) -> Algorithm:
    xxhash = getattr(crt, "XXHash", None)
    make = getattr(xxhash, factory, None)
    if make is None:
        return Algorithm(name, None)
    return Algorithm(name, lambda: _XXHash(make()))


def _hashlib(name: str, hash_name: str) -> Algorithm:
    return Algorithm(name, lambda: hashlib.new(hash_name, usedforsecurity=False))


def _known() -> dict[str, Algorithm]:
    crt = _awscrt_checksums()

    def of_crt(name: str) -> Any:
        return getattr(crt, name, None)

    algorithms = [
        _crc("CRC32", zlib.crc32, 4, of_crt("combine_crc32")),
        _crc("CRC32C", of_crt("crc32c"), 4, of_crt("combine_crc32c")),
        _crc("CRC64NVME", of_crt("crc64nvme"), 8, of_crt("combine_crc64nvme")),
        _hashlib("SHA1", "sha1"),
        _hashlib("SHA256", "sha256"),
        _hashlib("SHA512", "sha512"),
        _hashlib("MD5", "md5"),
        _xxhash("XXHASH64", crt, "new_xxhash64"),
        _xxhash("XXHASH3", crt, "new_xxhash3_64"),
        _xxhash("XXHASH128", crt, "new_xxhash3_128"),
    ]
    return {algorithm.name: algorithm for algorithm in algorithms}


ALGORITHMS = _known()
"""Every algorithm S3 names, by S3's name, as this process computes it."""

_said_missing: set[str] = set()


def usable(name: str) -> Algorithm | None:
    """The algorithm S3 calls ``name``, if this process can compute it; says once at INFO
    when it cannot (awscrt missing, or S3 naming one this library does not know)."""
    algorithm = ALGORITHMS.get(name)
    if algorithm is not None and algorithm.available:
        return algorithm
    if name not in _said_missing:
        _said_missing.add(name)
        why = "install aio-s3-ingest[crt] (awscrt)" if algorithm else "unknown to this version"
        logger.info("objects with %s checksums are not verified: %s", name, why)
    return None
