"""How big each streamed range's buffer is: a share of one budget for the whole run.

A range's body is received into its buffer and written from it a buffer at a time, so
every range in flight holds one. At ``chunk_size`` each, 64 files x 16 ranges would hold
4 GiB. Instead the run's buffers share a budget, 40 MiB per range of a file
(``workers_per_file``), 128 MiB at most: a new range gets ``chunk_size`` or, where the
run knows how many ranges it can have in flight, its fair share of the budget if that
is less (else the first ranges take the chunk size and the last ones crawl on the
floor); half of what is left once the budget runs low; and never less than a floor:
half the budget's fair share among the requests the run can have in flight, between
64 KiB and 256 KiB. Every buffer costs a receive and a write hop to a worker thread,
so a range starved to a tiny buffer crawls (the highest floor was chosen by
measurement: benchmarks/README.md, "Design figures behind the code"). So the buffers in
use stay below 1.5 times the budget however many ranges are in flight, and a run with
few of them keeps the full size.

Buffers are kept for reuse once given back: a fresh one costs more than a ranged GET's
own overhead. A fresh ``bytearray`` is zeroed by ``memset`` and then faulted in page by
page, on the event loop's time; a mapping whose pages one call faults in
(``MAP_POPULATE``, Linux) costs less. Transparent huge pages would cost less again, but
their first faults stalled runs while the kernel compacted memory. Kept buffers count
against the budget too, and are dropped when a new size needs the room.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator

BUDGET_BYTES = 40 * 1024 * 1024  # per range of a file
MOST_BYTES = 128 * 1024 * 1024
SMALLEST_BYTES = 64 * 1024
FLOOR_BYTES = 256 * 1024  # the highest floor, however large the budget's share
POPULATE_BYTES = 256 * 1024  # smaller buffers come from the heap, often already faulted in
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)

Buffer = bytearray | mmap.mmap


class BufferBudget:
    """Hands out buffers against one budget; buffers given back are kept for reuse."""

    def __init__(
        self,
        largest: int,
        budget: int | None = None,
        ranges_per_file: int = 1,
        most_ranges: int | None = None,
        in_flight: int | None = None,
    ) -> None:
        self._largest = largest
        default = min(BUDGET_BYTES * ranges_per_file, MOST_BYTES)
        self._budget = default if budget is None else budget
        # Half the fair share: the floors of all ranges together take at most half the
        # budget again, so buffers in use stay under 1.5 times the budget.
        share = self._budget // (2 * (most_ranges or 1))
        self.floor = max(SMALLEST_BYTES, min(FLOOR_BYTES, share))
        # The fair share among the ranges that can be in flight at once, where the run
        # knows them: the first ranges to start do not take what the last ones need.
        self._cap = self._budget // in_flight if in_flight else self._budget
        self.in_use = 0
        self._kept: dict[int, list[Buffer]] = {}
        self.kept_bytes = 0

    @contextlib.contextmanager
    def size_for(self, wanted: int) -> Iterator[int]:
        """The buffer size for a range that could use ``wanted`` bytes, while it runs."""
        left = self._budget - self.in_use
        cap = self._cap if wanted > self._largest else wanted
        size = max(min(wanted, self.floor), min(wanted, self._largest, cap, left // 2))
        self.in_use += size
        try:
            yield size
        finally:
            self.in_use -= size

    @contextlib.contextmanager
    def lease_for(self, wanted: int) -> Iterator[Lease]:
        """A buffer of :meth:`size_for` bytes while the block runs, taken on the lease's
        first :meth:`~Lease.view` and then kept for the next range. A range sends its GET
        first, so a fresh buffer is faulted in while the response is on its way, and a
        range that fails before its body never takes one.

        Nothing may hold on to the view once the block has ended.
        """
        with self.size_for(wanted) as size:
            lease = Lease(self, size)
            try:
                yield lease
            finally:
                if lease.buffer is not None:
                    self._keep(lease.buffer)

    def take(self, size: int) -> Buffer:
        """A kept buffer of this size, or a fresh one (see :meth:`lease_for`)."""
        kept = self._kept.get(size)
        if kept:
            self.kept_bytes -= size
            buffer = kept.pop()
            if not kept:
                del self._kept[size]
            return buffer
        # Make room: what is in use plus what is kept stays within the budget.
        while self._kept and self.in_use + self.kept_bytes > self._budget:
            self._drop_one()
        return fresh_buffer(size)

    def _keep(self, buffer: Buffer) -> None:
        """Called while ``buffer`` still counts as in use: kept, it moves to ``kept_bytes``."""
        size = len(buffer)
        if self.in_use + self.kept_bytes > self._budget:
            return  # over the budget: let it go
        self._kept.setdefault(size, []).append(buffer)
        self.kept_bytes += size

    def _drop_one(self) -> None:
        size, buffers = next(iter(self._kept.items()))
        buffers.pop()
        self.kept_bytes -= size
        if not buffers:
            del self._kept[size]


def fresh_buffer(size: int) -> Buffer:
    """Zeroed, writable, and with its pages in place where one call can fault them in."""
    if _POPULATE and size >= POPULATE_BYTES:
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _POPULATE
        return mmap.mmap(-1, size, flags=flags)
    return bytearray(size)


class Lease:
    """A buffer size granted by the budget; the buffer itself once :meth:`view` is called."""

    __slots__ = ("_budget", "_view", "buffer", "size")

    def __init__(self, budget: BufferBudget, size: int) -> None:
        self._budget = budget
        self.size = size
        self.buffer: Buffer | None = None
        self._view: memoryview | None = None

    def view(self) -> memoryview:
        if self._view is None:
            self.buffer = self._budget.take(self.size)
            self._view = memoryview(self.buffer)
        return self._view
