"""The checks behind :class:`IngestConfig`: each names the parameter it refuses and why."""

from __future__ import annotations

import math
import urllib.parse
from typing import cast

from ..errors import ConfigError


def check_type(name: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise ConfigError(
            f"{name} must be a {kind.__name__}, got {type(value).__name__}", parameter=name
        )


def check_bucket(bucket: object) -> None:
    check_type("s3_bucket_name", bucket, str)
    assert isinstance(bucket, str)
    if not bucket.strip():
        raise ConfigError("s3_bucket_name must not be empty", parameter="s3_bucket_name")
    if "/" in bucket or any(ch.isspace() for ch in bucket):
        raise ConfigError(
            f"s3_bucket_name {bucket!r} is not a bucket name "
            "(no '/' or spaces; put the key prefix in s3_key_prefix)",
            parameter="s3_bucket_name",
        )


def check_patterns(patterns: tuple[str, ...]) -> None:
    if not patterns:
        raise ConfigError("file_pattern must not be an empty list", parameter="file_pattern")
    bad = [p for p in patterns if not isinstance(p, str) or not p]
    if bad:
        raise ConfigError(
            f"file_pattern entries must be non-empty strings, got {bad!r}", parameter="file_pattern"
        )


def check_dataset_id(dataset_id: object) -> None:
    check_type("dataset_id", dataset_id, str)
    assert isinstance(dataset_id, str)
    if dataset_id in ("", ".", "..") or any(ch in dataset_id for ch in "/\\\0"):
        raise ConfigError(
            f"dataset_id {dataset_id!r} must be a single folder name "
            "(not empty, '.', '..', and without '/', '\\' or NUL)",
            parameter="dataset_id",
        )


def check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}", parameter=name)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}", parameter=name)


def check_processes(value: object) -> None:
    """A count of processes, or ``"auto"`` (the run chooses, see :mod:`aio_s3_ingest._procs`)."""
    if value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int):
        message = f'processes must be an integer or "auto", got {value!r}'
        raise ConfigError(message, parameter="processes")
    check_positive_int("processes", value)


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(choice) for choice in choices)
        raise ConfigError(f"{name} must be one of {options}, got {value!r}", parameter=name)


def check_positive_number(name: str, value: object, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}", parameter=name)
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be positive, got {value}", parameter=name)


def check_manifest_name(name: object) -> None:
    if name is None:
        return
    check_type("manifest_file_name", name, str)
    assert isinstance(name, str)
    if not name or "/" in name or "\0" in name:
        raise ConfigError(
            f"manifest_file_name {name!r} must be a file name under the prefix "
            "(not empty, no '/'), or None to use no S3 manifest",
            parameter="manifest_file_name",
        )


def check_endpoint(url: object) -> None:
    if url is None:
        return
    parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(
            f"endpoint_url must be an http(s) URL such as 'http://127.0.0.1:9000', got {url!r}",
            parameter="endpoint_url",
        )


def check_tolerance(hours: object) -> None:
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


def check_shard(shard: object) -> None:
    """``(index, count)``: this worker's share of ``count``, numbered from 0."""
    if shard is None:
        return
    if not (isinstance(shard, tuple) and len(shard) == 2 and all(map(_is_int, shard))):
        raise ConfigError(
            f"shard must be a tuple (index, count) of two ints, got {shard!r}", parameter="shard"
        )
    index, count = cast("tuple[int, int]", shard)
    if count < 1 or not 0 <= index < count:
        raise ConfigError(
            f"shard ({index}, {count}) is not one of {count} shards: the index counts from 0 "
            "and must be below the count",
            parameter="shard",
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
