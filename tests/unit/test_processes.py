"""The queue behind processes=N: the largest files first, in batches bounded by a count
and by bytes; how many processes "auto" takes (the worker processes themselves:
tests/server/test_processes.py)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pytest

from aio_s3_ingest._config import IngestConfig
from aio_s3_ingest._models import ObjectInfo, WantedFile
from aio_s3_ingest._procs import _Queue, process_count

KiB, MiB = 1024, 1024 * 1024
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _files(count: int, size: int) -> list[WantedFile]:
    return [WantedFile(f"{i}", ObjectInfo(f"k{i}", size, '"e"', WHEN)) for i in range(count)]


def _config(processes: int | Literal["auto"]) -> IngestConfig:
    return IngestConfig(s3_bucket_name="b", s3_key_prefix="", dataset_id="d", processes=processes)


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


def test_a_number_of_processes_is_taken_as_given() -> None:
    one_file = _files(1, 1 * KiB)
    assert process_count(_config(3), one_file, bytes_cost_the_loop=True, cores=1) == 3
    assert process_count(_config(1), _files(10_000, KiB), bytes_cost_the_loop=True, cores=8) == 1


@pytest.mark.parametrize(
    ("count", "size", "tls", "cores", "expected"),
    [
        # Many small files keep one loop busy for seconds: a process per core, at most 8.
        (10_000, 64 * KiB, False, 2, 2),
        (10_000, 64 * KiB, False, 16, 8),
        (2_000, 64 * KiB, True, 8, 2),  # 0.6 s of requests and 0.13 s of decryption
        # A few seconds of work in a handful of files: each would end last in its process.
        (4, 256 * MiB, True, 8, 1),
        (64, 64 * MiB, True, 8, 2),  # 4 GiB to decrypt, but 32 files per process at most
        # Work that would be over before a worker started.
        (1_000, 64 * KiB, False, 8, 1),
        (200, 1 * MiB, True, 8, 1),
        # Plain-HTTP bytes leave the loop alone: only the files count.
        (64, 64 * MiB, False, 8, 1),
        (10_000, 64 * KiB, False, 1, 1),  # one core: nothing to share it with
    ],
)
def test_auto_takes_a_process_per_third_of_a_second_of_loop_work(
    count: int, size: int, tls: bool, cores: int, expected: int
) -> None:
    """About 0.3 ms of the loop's time per file and a nanosecond per byte over TLS; a
    process per 0.35 s of that, with 32 files per process at least."""
    items = _files(count, size)
    got = process_count(_config("auto"), items, bytes_cost_the_loop=tls, cores=cores)
    assert got == expected
