"""Configuration: every option validated once into an immutable :class:`IngestConfig`,
and the constructor signature both ingesters share."""

from .config import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_PART_SIZE,
    IngestConfig,
    default_dataset_id,
)
from .options import IngesterOptions

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_PART_SIZE",
    "IngestConfig",
    "IngesterOptions",
    "default_dataset_id",
]
