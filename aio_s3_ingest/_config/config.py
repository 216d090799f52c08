"""Every option of an ingester, validated once, so no later stage re-checks input."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._progress import ProgressOption, check_progress
from ..errors import ConfigError
from .checks import (
    check_bucket,
    check_choice,
    check_dataset_id,
    check_endpoint,
    check_manifest_name,
    check_patterns,
    check_positive_int,
    check_positive_number,
    check_processes,
    check_shard,
    check_tolerance,
    check_type,
)

VerifyOption = Literal["auto", "etag", "require", "off"]
VERIFY_CHOICES: tuple[VerifyOption, ...] = ("auto", "etag", "require", "off")

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
    processes: int | Literal["auto"] = 1
    prune_unselected: bool = False
    verify: VerifyOption = "auto"
    shard: tuple[int, int] | None = None
    progress: ProgressOption = None

    def __post_init__(self) -> None:
        check_bucket(self.s3_bucket_name)
        check_type("s3_key_prefix", self.s3_key_prefix, str)
        check_type("aws_region_name", self.aws_region_name, str)
        check_patterns(self.file_patterns)
        check_dataset_id(self.dataset_id)
        check_positive_int("max_concurrent_files", self.max_concurrent_files)
        check_positive_int("workers_per_file", self.workers_per_file)
        check_positive_int("part_size", self.part_size)
        check_positive_int("chunk_size", self.chunk_size)
        check_positive_int("max_attempts", self.max_attempts)
        check_processes(self.processes)
        check_choice("verify", self.verify, VERIFY_CHOICES)
        check_shard(self.shard)
        check_manifest_name(self.manifest_file_name)
        check_tolerance(self.s3_timestamp_tolerance)
        check_endpoint(self.endpoint_url)
        check_type("anonymous", self.anonymous, bool)
        check_type("direct_get", self.direct_get, bool)
        check_type("prune_unselected", self.prune_unselected, bool)
        check_type("destination_directory", self.destination_directory, pathlib.Path)
        if self.aws_profile_name is not None:
            check_type("aws_profile_name", self.aws_profile_name, str)
        for name in ("connect_timeout", "read_timeout"):
            check_positive_number(name, getattr(self, name))
        check_progress(self.progress)
        if self.lock_timeout is not None:
            check_positive_number("lock_timeout", self.lock_timeout, allow_zero=True)

    @property
    def dataset_directory(self) -> pathlib.Path:
        """Where the files land: ``destination_directory / dataset_id``."""
        return self.destination_directory / self.dataset_id

    @property
    def asks_for_checksums(self) -> bool:
        """Whether requests ask S3 for objects' checksums (every ``verify`` but ``"off"``)."""
        return self.verify != "off"

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


def config_from_arguments(arguments: dict[str, Any]) -> IngestConfig:
    """The constructor's arguments as a config: the reference's ``file_pattern`` (one or
    many), its default ``dataset_id`` and a string ``destination_directory`` accepted."""
    options = dict(arguments)
    options["file_patterns"] = normalise_patterns(options.pop("file_pattern"))
    options["destination_directory"] = _as_path(options["destination_directory"])
    naming = [options[name] for name in ("s3_bucket_name", "s3_key_prefix", "aws_region_name")]
    if options["dataset_id"] is None and all(isinstance(part, str) for part in naming):
        options["dataset_id"] = default_dataset_id(*naming)
    return IngestConfig(**options)


def _as_path(value: object) -> pathlib.Path:
    if isinstance(value, (str, pathlib.PurePath)):
        return pathlib.Path(value)
    raise ConfigError(
        f"destination_directory must be a path or a string, got {type(value).__name__}",
        parameter="destination_directory",
    )
