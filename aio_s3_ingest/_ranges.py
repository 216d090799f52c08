"""How an object is split into byte ranges, and how many ranges a run has in flight."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._config import IngestConfig


def ranges_in_flight(config: IngestConfig, sizes: Sequence[int]) -> int | None:
    """The most ranges the objects of ``sizes`` can have in flight at once (None if
    unknown): those of the ``max_concurrent_files`` objects split into the most ranges."""
    if not sizes:
        return None
    counts = sorted(
        (len(split_ranges(size, config.workers_per_file, config.part_size)) for size in sizes),
        reverse=True,
    )
    return sum(counts[: config.max_concurrent_files])


def split_ranges(size: int, workers: int, part_size: int) -> list[tuple[int, int]]:
    """Up to ``workers`` contiguous [start, end) ranges of equal length (the last may be
    shorter), that length never below ``part_size``: small objects stay one range."""
    parts = max(1, min(workers, size // part_size))
    step = max(1, math.ceil(size / parts))
    return [(start, min(start + step, size)) for start in range(0, size, step)] or [(0, 0)]
