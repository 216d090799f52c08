"""The queue behind processes=N: the largest files first, in batches bounded by a count
and by bytes (the worker processes themselves: tests/server/test_processes.py)."""

from __future__ import annotations

import datetime as dt

from aio_s3_ingest._models import ObjectInfo, WantedFile
from aio_s3_ingest._procs import _Queue

KiB, MiB = 1024, 1024 * 1024


def test_the_queue_hands_out_largest_first_in_batches_bounded_by_count_and_bytes() -> None:
    """A batch stops at the count asked for, or once it holds 32 MiB (one big file alone)."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    sizes = [1 * KiB, 40 * MiB, 2 * KiB, 20 * MiB, 20 * MiB, 3 * KiB]
    items = [
        WantedFile(f"{i}", ObjectInfo(f"k{i}", size, '"e"', when)) for i, size in enumerate(sizes)
    ]
    queue = _Queue(items)
    sizes_of = lambda batch: [w.obj.size for w in batch]  # noqa: E731
    assert sizes_of(queue.take(5)) == [40 * MiB]
    assert sizes_of(queue.take(5)) == [20 * MiB, 20 * MiB]
    assert sizes_of(queue.take(2)) == [3 * KiB, 2 * KiB]
    assert sizes_of(list(queue)) == [1 * KiB]
    assert queue.take(5) == []
