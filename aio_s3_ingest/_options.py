"""The constructor both ingesters share: the reference's signature plus keyword-only options."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import TypeVar

from ._config import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_PART_SIZE,
    IngestConfig,
    default_dataset_id,
    normalise_patterns,
)
from ._progress import ProgressOption
from .errors import ConfigError

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
        processes: int = 1,
        prune_unselected: bool = False,
        progress: ProgressOption = None,
    ) -> None:
        """Create an ingester; see the README's parameter table for each option.

        The positional parameters and their defaults are those of the thread-based
        ``S3Ingester`` this library replaces; options added since are keyword-only.
        """
        naming = (s3_bucket_name, s3_key_prefix, aws_region_name)
        if dataset_id is None and all(isinstance(part, str) for part in naming):
            dataset_id = default_dataset_id(s3_bucket_name, s3_key_prefix, aws_region_name)
        self.config = IngestConfig(
            s3_bucket_name=s3_bucket_name,
            s3_key_prefix=s3_key_prefix,
            file_patterns=normalise_patterns(file_pattern),
            dataset_id=dataset_id,  # type: ignore[arg-type]  # validated in IngestConfig
            destination_directory=_as_path(destination_directory),
            aws_profile_name=aws_profile_name,
            aws_region_name=aws_region_name,
            max_concurrent_files=max_concurrent_files,
            workers_per_file=workers_per_file,
            manifest_file_name=manifest_file_name,
            s3_timestamp_tolerance=s3_timestamp_tolerance,
            endpoint_url=endpoint_url,
            anonymous=anonymous,
            direct_get=direct_get,
            part_size=part_size,
            chunk_size=chunk_size,
            max_attempts=max_attempts,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            lock_timeout=lock_timeout,
            processes=processes,
            prune_unselected=prune_unselected,
            progress=progress,
        )

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


def _as_path(value: object) -> pathlib.Path:
    if isinstance(value, (str, pathlib.PurePath)):
        return pathlib.Path(value)
    raise ConfigError(
        f"destination_directory must be a path or a string, got {type(value).__name__}",
        parameter="destination_directory",
    )
