"""The constructor both ingesters share: the reference's signature plus keyword-only options."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Literal, TypeVar

from .._progress import ProgressOption
from .config import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_PART_SIZE,
    IngestConfig,
    VerifyOption,
    config_from_arguments,
)

_T = TypeVar("_T", bound="IngesterOptions")


class IngesterOptions:
    """Validates the arguments once, into an immutable :class:`IngestConfig`."""

    config: IngestConfig

    def __init__(
        self,
        s3_bucket_name: str,
        s3_key_prefix: str,
        file_pattern: str | Sequence[str] = "*",
        dataset_id: str | None = None,
        destination_directory: str | pathlib.Path = "data/s3-ingester",
        aws_profile_name: str | None = None,
        aws_region_name: str = "eu-west-1",
        max_concurrent_files: int = 64,
        workers_per_file: int = 1,
        manifest_file_name: str | None = "manifest",
        s3_timestamp_tolerance: float = -1,
        *,
        endpoint_url: str | None = None,
        anonymous: bool = False,
        direct_get: bool = True,
        part_size: int = DEFAULT_PART_SIZE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_attempts: int = 5,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        lock_timeout: float | None = None,
        processes: int | Literal["auto"] = 1,
        prune_unselected: bool = False,
        verify: VerifyOption = "auto",
        shard: tuple[int, int] | None = None,
        progress: ProgressOption = None,
    ) -> None:
        """Create an ingester; see the README's parameter table for each option.

        The positional parameters and their defaults are those of the thread-based
        ``S3Ingester`` this library replaces; options added since are keyword-only. Each
        parameter is a field of :class:`IngestConfig` (a unit test holds the two in step).
        """
        arguments = dict(locals())
        del arguments["self"]
        self.config = config_from_arguments(arguments)

    @classmethod
    def _from_config(cls: type[_T], config: IngestConfig) -> _T:
        """Another face over an already validated configuration."""
        ingester = cls.__new__(cls)
        ingester.config = config
        return ingester

    @property
    def dataset_directory(self) -> pathlib.Path:
        """Where the files land: ``destination_directory / dataset_id``."""
        return self.config.dataset_directory

    def __repr__(self) -> str:
        c = self.config
        return (
            f"{type(self).__name__}(s3://{c.s3_bucket_name}/{c.s3_key_prefix} "
            f"-> {c.dataset_directory})"
        )
