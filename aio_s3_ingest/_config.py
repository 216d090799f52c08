"""Every option of an ingester, validated once, so no later stage re-checks input."""

from __future__ import annotations

import hashlib
import math
import pathlib
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from ._progress import ProgressOption, check_progress
from .errors import ConfigError

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * MiB
# Every buffer filled costs a receive and a write hop to worker threads, so larger
# buffers mean fewer hops, until a larger size gains nothing more. Chosen by
# measurement: benchmarks/README.md, "Design figures behind the code".
DEFAULT_CHUNK_SIZE = 4 * MiB


@dataclass(frozen=True, kw_only=True)
class IngestConfig:
    """The reference ingester's parameters plus the keyword-only options added since."""

    s3_bucket_name: str
    s3_key_prefix: str
    file_patterns: tuple[str, ...] = ("*",)
    dataset_id: str
    destination_directory: pathlib.Path = pathlib.Path("data/s3-ingester")
    aws_profile_name: str | None = None
    aws_region_name: str = "eu-west-1"
    max_concurrent_files: int = 64
    workers_per_file: int = 1
    manifest_file_name: str | None = "manifest"
    s3_timestamp_tolerance: float = -1
    endpoint_url: str | None = None
    anonymous: bool = False
    direct_get: bool = True
    part_size: int = DEFAULT_PART_SIZE
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    lock_timeout: float | None = None
    processes: int = 1
    prune_unselected: bool = False
    progress: ProgressOption = None

    def __post_init__(self) -> None:
        _check_bucket(self.s3_bucket_name)
        _check_type("s3_key_prefix", self.s3_key_prefix, str)
        _check_type("aws_region_name", self.aws_region_name, str)
        _check_patterns(self.file_patterns)
        _check_dataset_id(self.dataset_id)
        _check_positive_int("max_concurrent_files", self.max_concurrent_files)
        _check_positive_int("workers_per_file", self.workers_per_file)
        _check_positive_int("part_size", self.part_size)
        _check_positive_int("chunk_size", self.chunk_size)
        _check_positive_int("max_attempts", self.max_attempts)
        _check_positive_int("processes", self.processes)
        _check_manifest_name(self.manifest_file_name)
        _check_tolerance(self.s3_timestamp_tolerance)
        _check_endpoint(self.endpoint_url)
        _check_type("anonymous", self.anonymous, bool)
        _check_type("direct_get", self.direct_get, bool)
        _check_type("prune_unselected", self.prune_unselected, bool)
        _check_type("destination_directory", self.destination_directory, pathlib.Path)
        if self.aws_profile_name is not None:
            _check_type("aws_profile_name", self.aws_profile_name, str)
        for name in ("connect_timeout", "read_timeout"):
            _check_positive_number(name, getattr(self, name))
        check_progress(self.progress)
        if self.lock_timeout is not None:
            _check_positive_number("lock_timeout", self.lock_timeout, allow_zero=True)

    @property
    def dataset_directory(self) -> pathlib.Path:
        """Where the files land: ``destination_directory / dataset_id``."""
        return self.destination_directory / self.dataset_id

    @property
    def max_requests(self) -> int:
        """The most GETs one run keeps in flight, and so the connection pool size."""
        return self.max_concurrent_files * self.workers_per_file


def default_dataset_id(bucket: str, prefix: str, region: str) -> str:
    """The reference ingester's fingerprint, kept so existing caches stay valid."""
    return hashlib.md5((bucket + prefix + region).encode(), usedforsecurity=False).hexdigest()


def normalise_patterns(file_pattern: str | Sequence[str]) -> tuple[str, ...]:
    """Accept one pattern or a list of them, as the reference did."""
    if isinstance(file_pattern, str):
        return (file_pattern,)
    if isinstance(file_pattern, Sequence):
        return tuple(file_pattern)
    raise ConfigError(
        f"file_pattern must be a string or a list of strings, got {type(file_pattern).__name__}",
        parameter="file_pattern",
    )


def _check_type(name: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise ConfigError(
            f"{name} must be a {kind.__name__}, got {type(value).__name__}", parameter=name
        )


def _check_bucket(bucket: object) -> None:
    _check_type("s3_bucket_name", bucket, str)
    assert isinstance(bucket, str)
    if not bucket.strip():
        raise ConfigError("s3_bucket_name must not be empty", parameter="s3_bucket_name")
    if "/" in bucket or any(ch.isspace() for ch in bucket):
        raise ConfigError(
            f"s3_bucket_name {bucket!r} is not a bucket name "
            "(no '/' or spaces; put the key prefix in s3_key_prefix)",
            parameter="s3_bucket_name",
        )


def _check_patterns(patterns: tuple[str, ...]) -> None:
    if not patterns:
        raise ConfigError("file_pattern must not be an empty list", parameter="file_pattern")
    bad = [p for p in patterns if not isinstance(p, str) or not p]
    if bad:
        raise ConfigError(
            f"file_pattern entries must be non-empty strings, got {bad!r}", parameter="file_pattern"
        )


def _check_dataset_id(dataset_id: object) -> None:
    _check_type("dataset_id", dataset_id, str)
    assert isinstance(dataset_id, str)
    if dataset_id in ("", ".", "..") or any(ch in dataset_id for ch in "/\\\0"):
        raise ConfigError(
            f"dataset_id {dataset_id!r} must be a single folder name "
            "(not empty, '.', '..', and without '/', '\\' or NUL)",
            parameter="dataset_id",
        )


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}", parameter=name)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}", parameter=name)


def _check_positive_number(name: str, value: object, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}", parameter=name)
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be positive, got {value}", parameter=name)


def _check_manifest_name(name: object) -> None:
    if name is None:
        return
    _check_type("manifest_file_name", name, str)
    assert isinstance(name, str)
    if not name or "/" in name or "\0" in name:
        raise ConfigError(
            f"manifest_file_name {name!r} must be a file name under the prefix "
            "(not empty, no '/'), or None to use no S3 manifest",
            parameter="manifest_file_name",
        )


def _check_endpoint(url: object) -> None:
    if url is None:
        return
    parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(
            f"endpoint_url must be an http(s) URL such as 'http://127.0.0.1:9000', got {url!r}",
            parameter="endpoint_url",
        )


def _check_tolerance(hours: object) -> None:
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or math.isnan(hours):
        raise ConfigError(
            f"s3_timestamp_tolerance must be a number of hours, got {hours!r}",
            parameter="s3_timestamp_tolerance",
        )
    if hours < 0 and hours != -1:
        raise ConfigError(
            f"s3_timestamp_tolerance must be -1 (no check) or at least 0 hours, got {hours}",
            parameter="s3_timestamp_tolerance",
        )
