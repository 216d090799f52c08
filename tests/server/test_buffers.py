"""Runs on a short buffer budget: buffers smaller than their ranges, and objects up to a
chunk read whole or streamed, all land byte-exact (the budget itself is in
tests/unit/test_buffers.py)."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest

import aio_s3_ingest._transfer.buffers
from tests._helpers import MakeIngester

MiB = 1024 * 1024


@pytest.mark.asyncio
async def test_buffers_smaller_than_their_ranges_still_land_byte_exact(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a budget of 512 KiB, 6 files x 4 ranges of 256 KiB get buffers down to 64 KiB:
    every range is received a buffer at a time, and every file is byte-exact."""
    monkeypatch.setattr(aio_s3_ingest._transfer.buffers, "BUDGET_BYTES", 512 * 1024)
    objects = {f"data/{i}.bin": os.urandom(1 * MiB + i) for i in range(6)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    ingester = make_ingester(workers_per_file=4, part_size=256 * 1024, max_concurrent_files=6)
    await ingester.fetch_data()
    for key, body in objects.items():
        assert (dest / "ds" / key.removeprefix("data/")).read_bytes() == body


@pytest.mark.asyncio
async def test_objects_up_to_a_chunk_land_whole_or_streamed_when_the_budget_is_short(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a budget of 1 MiB, objects of 300 KiB fit a buffer and are read whole, while
    objects of 900 KiB get at most half the budget and are streamed: all land byte-exact,
    and no temp file or buffer stays behind."""
    monkeypatch.setattr(aio_s3_ingest._transfer.buffers, "BUDGET_BYTES", 1 * MiB)
    sizes = [300 * 1024 + i for i in range(6)] + [900 * 1024 + i for i in range(6)]
    objects = {f"data/{i:02d}.bin": os.urandom(size) for i, size in enumerate(sizes)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    ingester = make_ingester(max_concurrent_files=12)
    await ingester.fetch_data()
    dataset = dest / "ds"
    for key, body in objects.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body
    assert list((dataset / ".aio-s3-ingest" / "tmp").iterdir()) == []
