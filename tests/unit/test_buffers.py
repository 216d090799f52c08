"""Streamed ranges share one buffer budget, so memory does not grow with ranges in flight."""

from __future__ import annotations

import contextlib
import mmap
import sys
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from aio_s3_ingest._config import IngestConfig
from aio_s3_ingest._transfer.buffers import (
    FLOOR_BYTES,
    POPULATE_BYTES,
    SMALLEST_BYTES,
    BufferBudget,
    fresh_buffer,
)
from aio_s3_ingest._transfer.ranges import ranges_in_flight

MiB = 1024 * 1024


def test_few_ranges_get_the_full_chunk_size() -> None:
    budget = BufferBudget(largest=1 * MiB, budget=32 * MiB)
    with budget.size_for(256 * MiB) as first, budget.size_for(256 * MiB) as second:
        assert (first, second) == (1 * MiB, 1 * MiB)
        assert budget.in_use == 2 * MiB
    assert budget.in_use == 0


def test_a_range_shorter_than_a_chunk_gets_its_length() -> None:
    budget = BufferBudget(largest=1 * MiB, budget=32 * MiB)
    with budget.size_for(300_000) as size:
        assert size == 300_000


def test_many_ranges_stay_near_the_budget_and_never_below_the_floor() -> None:
    """1,024 ranges (64 files x 16 parts) on 128 MiB: the floor is half the fair share,
    64 KiB, and the buffers hold at most 1.5 times the budget, not a gigabyte."""
    budget = BufferBudget(largest=1 * MiB, budget=128 * MiB, most_ranges=1024)
    assert budget.floor == 64 * 1024
    with ExitStack() as stack:
        sizes = [stack.enter_context(budget.size_for(16 * MiB)) for _ in range(1024)]
        assert min(sizes) == 64 * 1024
        assert sizes[0] == 1 * MiB
        assert sum(sizes) <= 192 * MiB
    assert budget.in_use == 0


@pytest.mark.parametrize(
    ("budget_bytes", "most_ranges", "floor"),
    [
        (40 * MiB, 64, FLOOR_BYTES),  # the reference defaults: half a share is 320 KiB
        (128 * MiB, 256, FLOOR_BYTES),  # 16 files x 16 parts
        (128 * MiB, 512, 128 * 1024),  # 32 files x 16 parts
        (32 * MiB, 4096, SMALLEST_BYTES),  # half a share below the smallest buffer
    ],
)
def test_the_floor_is_the_fair_share_between_the_smallest_and_the_largest_floor(
    budget_bytes: int, most_ranges: int, floor: int
) -> None:
    """No range is starved below half what the budget can give every range in flight,
    and none is promised more than 256 KiB when the budget runs low."""
    budget = BufferBudget(largest=1 * MiB, budget=budget_bytes, most_ranges=most_ranges)
    assert budget.floor == floor
    with ExitStack() as stack:
        sizes = [stack.enter_context(budget.size_for(8 * MiB)) for _ in range(most_ranges)]
        assert min(sizes) == floor
        assert sum(sizes) <= budget_bytes + most_ranges * floor


def test_known_ranges_in_flight_share_the_budget_evenly() -> None:
    """4 files x 8 parts on 128 MiB with 8 MiB chunks: each of the 32 ranges gets its
    fair 4 MiB, not the first ones the chunk size and the last ones the floor."""
    budget = BufferBudget(largest=8 * MiB, budget=128 * MiB, most_ranges=512, in_flight=32)
    with ExitStack() as stack:
        sizes = [stack.enter_context(budget.size_for(32 * MiB)) for _ in range(32)]
        assert sizes[:31] == [4 * MiB] * 31
        assert sizes[31] == 2 * MiB  # what is left, halved: the budget is never exceeded
    unknown = BufferBudget(largest=8 * MiB, budget=128 * MiB, most_ranges=512)
    with ExitStack() as stack:
        sizes = [stack.enter_context(unknown.size_for(32 * MiB)) for _ in range(32)]
        assert sizes[0] == 8 * MiB
        assert min(sizes) == unknown.floor < 1 * MiB


def test_the_fair_share_does_not_cut_a_body_read_whole() -> None:
    """An object up to a chunk is read whole into its buffer, held only while it is
    received: it needs its full size, whatever the share of the streamed ranges."""
    budget = BufferBudget(largest=4 * MiB, budget=40 * MiB, most_ranges=64, in_flight=64)
    with budget.size_for(1 * MiB) as whole, budget.size_for(64 * MiB) as streamed:
        assert whole == 1 * MiB
        assert streamed == 40 * MiB // 64


@pytest.mark.parametrize(
    ("sizes", "workers", "limit", "expected"),
    [
        ([], 8, 64, None),  # not known: no fair share, the budget alone bounds
        ([256 * MiB] * 4, 8, 64, 32),  # 4 files x 8 parts
        ([64 * MiB] * 4 + [1 * MiB] * 200, 8, 64, 4 * 8 + 60),  # the 64 largest in flight
        ([256 * MiB] * 100, 16, 64, 64 * 16),
        ([1 * MiB] * 10, 1, 64, 10),
    ],
)
def test_ranges_in_flight_counts_the_files_split_into_the_most_ranges(
    sizes: list[int], workers: int, limit: int, expected: int | None
) -> None:
    config = IngestConfig(
        s3_bucket_name="b",
        s3_key_prefix="p/",
        dataset_id="d",
        workers_per_file=workers,
        max_concurrent_files=limit,
    )
    assert ranges_in_flight(config, sizes) == expected


@contextlib.contextmanager
def _buffer(budget: BufferBudget, wanted: int) -> Iterator[memoryview]:
    """A leased buffer, taken at once."""
    with budget.lease_for(wanted) as lease:
        yield lease.view()


def test_buffers_given_back_are_reused() -> None:
    budget = BufferBudget(largest=1 * MiB, budget=32 * MiB)
    with _buffer(budget, 4 * MiB) as first:
        first[:3] = b"abc"
    with _buffer(budget, 4 * MiB) as second:
        assert len(second) == 1 * MiB
        assert second.obj is first.obj  # the same bytearray, not a fresh one
    assert budget.kept_bytes == 1 * MiB


def test_kept_buffers_of_other_sizes_make_room_within_the_budget() -> None:
    """Sizes that change (ranges shorter than a chunk) do not pile up kept buffers:
    buffers in use plus buffers kept stay within the budget."""
    budget = BufferBudget(largest=1 * MiB, budget=4 * MiB)
    for length in range(200_000, 1_000_000, 37_000):
        with ExitStack() as stack:
            held = [stack.enter_context(_buffer(budget, length)) for _ in range(2)]
            assert all(len(view) == length for view in held)
            assert budget.in_use + budget.kept_bytes <= 4 * MiB
        assert budget.kept_bytes <= 4 * MiB
    assert budget.in_use == 0


def test_room_is_made_after_a_size_was_taken_back_out() -> None:
    """A size whose kept buffers were all taken again, then a new size that needs room:
    the kept buffer of another size is dropped."""
    budget = BufferBudget(largest=1 * MiB, budget=2 * MiB)
    for length in (1 * MiB, 512 * 1024):
        with _buffer(budget, length):
            pass
    assert budget.kept_bytes == 1 * MiB + 512 * 1024
    with _buffer(budget, 1 * MiB), _buffer(budget, 300_000), _buffer(budget, 600_000):
        assert budget.in_use + budget.kept_bytes <= 2 * MiB
    assert budget.in_use == 0


@pytest.mark.parametrize("size", [1_000, 64 * 1024, POPULATE_BYTES, 3 * MiB + 5])
def test_fresh_buffers_are_zeroed_writable_and_exactly_sized(size: int) -> None:
    buffer = fresh_buffer(size)
    view = memoryview(buffer)
    assert len(view) == size
    assert not view.readonly
    assert view[:64].tobytes() == bytes(min(64, size))
    assert view[-1] == 0
    view[-3:] = b"xyz"
    assert bytes(buffer[-3:]) == b"xyz"
    view.release()


@pytest.mark.skipif(sys.platform != "linux", reason="MAP_POPULATE is Linux's")
def test_large_fresh_buffers_are_populated_mappings_small_ones_heap() -> None:
    assert isinstance(fresh_buffer(POPULATE_BYTES), mmap.mmap)
    assert isinstance(fresh_buffer(POPULATE_BYTES - 1), bytearray)


def test_a_lease_takes_its_buffer_only_when_first_viewed() -> None:
    """The size is granted at once; the buffer comes on first use, and an unused lease
    keeps nothing."""
    budget = BufferBudget(largest=1 * MiB, budget=32 * MiB)
    with budget.lease_for(1 * MiB) as unused:
        assert unused.size == 1 * MiB
        assert budget.in_use == 1 * MiB
        assert unused.buffer is None
    assert budget.kept_bytes == 0
    with budget.lease_for(1 * MiB) as lease:
        view = lease.view()
        assert lease.view() is view
        assert len(view) == 1 * MiB
    assert budget.kept_bytes == 1 * MiB
