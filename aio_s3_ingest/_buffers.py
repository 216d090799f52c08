"""How big each streamed range's buffer is: a share of one budget for the whole run.

A range's body is received into its buffer and written from it a buffer at a time, so
every range in flight holds one. At ``chunk_size`` each, 64 files x 16 ranges would hold
a gigabyte. Instead the run's buffers share a budget, 32 MiB per range of a file
(``workers_per_file``), 128 MiB at most: a new range gets ``chunk_size`` while
plenty is left, half of what is left once it runs low, and never less than 64 KiB (which
only costs more writes, each a thread hop). So memory stays near the budget however many
ranges are in flight, and a run with few of them keeps the full size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

BUDGET_BYTES = 32 * 1024 * 1024  # per range of a file
MOST_BYTES = 128 * 1024 * 1024
SMALLEST_BYTES = 64 * 1024


class BufferBudget:
    """Hands out buffer sizes against one budget; sizes are given back when done."""

    def __init__(self, largest: int, budget: int | None = None, ranges_per_file: int = 1) -> None:
        self._largest = largest
        default = min(BUDGET_BYTES * ranges_per_file, MOST_BYTES)
        self._budget = default if budget is None else budget
        self.in_use = 0

    @contextlib.contextmanager
    def size_for(self, wanted: int) -> Iterator[int]:
        """The buffer size for a range that could use ``wanted`` bytes, while it runs."""
        left = self._budget - self.in_use
        size = max(min(wanted, SMALLEST_BYTES), min(wanted, self._largest, left // 2))
        self.in_use += size
        try:
            yield size
        finally:
            self.in_use -= size
