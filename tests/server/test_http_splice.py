"""Transfers from the moto server on plain HTTP splice their bodies from the socket to the
file (counted by a spy around the real function), resume after a reset, and leave no temp
file (splice on a scripted loopback server: tests/unit/test_http_splice.py)."""

from __future__ import annotations

import os
import pathlib
import random
from typing import Any

import pytest

import aio_s3_ingest._http.pump
from aio_s3_ingest import IngestFailed, TransferError
from aio_s3_ingest._http import splice as _splice
from tests._helpers import MakeIngester
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401

MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(not _splice.AVAILABLE, reason="splice(2) is Linux's")


@pytest.fixture
def spliced(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The bytes each splice job moved, counted by a spy; the real function does the work."""
    spliced: list[int] = []
    real = aio_s3_ingest._http.pump.splice_to_file

    def spy(*args: Any) -> tuple[int, OSError | None]:
        moved, error = real(*args)
        spliced.append(moved)
        return moved, error

    monkeypatch.setattr(aio_s3_ingest._http.pump, "splice_to_file", spy)
    return spliced


@pytest.mark.asyncio
async def test_ranges_of_a_plain_http_transfer_are_spliced_byte_exact(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    spliced: list[int],
) -> None:
    """Through moto (plain HTTP), two ranges of 3 MiB each, one reset mid-range: the
    ranges' bytes go through splice (counted by a spy that runs the real function), the
    reset range resumes, and the file is byte exact."""
    body = random.Random(26).randbytes(6 * MiB)
    s3.put_object(Bucket=bucket, Key="data/big.bin", Body=body)
    reset = proxy.reset_after(MiB, pause=0.2, key="big.bin", times=1)
    ingester = make_ingester(
        endpoint_url=proxy.url, workers_per_file=2, part_size=3 * MiB, max_attempts=3
    )
    report = await ingester.sync()

    assert reset.hits == 1
    assert report.retries == 1
    assert (dest / "ds" / "big.bin").read_bytes() == body
    # All but what arrived with the response heads (at most 64 KiB each) was spliced.
    assert sum(spliced) >= len(body) - 3 * 64 * 1024


@pytest.mark.asyncio
async def test_whole_objects_up_to_a_chunk_are_spliced_and_a_reset_one_resumes(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    spliced: list[int],
) -> None:
    """Three 1 MiB objects, one GET each: spliced, not buffered. One is reset 100 KiB
    before its end; the rest is too short to splice, so it is received into a buffer and
    written after the spliced part. Every file is byte exact; no temp file is left."""
    bodies = {f"o{i}.bin": random.Random(i).randbytes(MiB) for i in range(3)}
    for name, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=f"data/{name}", Body=body)
    reset = proxy.reset_after(MiB - 100 * 1024, pause=0.2, key="o1.bin", times=1)
    report = await make_ingester(endpoint_url=proxy.url, max_attempts=3).sync()

    assert reset.hits == 1
    assert report.retries == 1
    for name, body in bodies.items():
        assert (dest / "ds" / name).read_bytes() == body
    # All but the buffered rest and what came with the heads (at most 64 KiB each).
    assert sum(spliced) >= 3 * MiB - 100 * 1024 - 4 * 64 * 1024
    assert os.listdir(dest / "ds" / ".aio-s3-ingest" / "tmp") == []


@pytest.mark.asyncio
async def test_a_whole_object_whose_body_keeps_breaking_leaves_no_temp_file(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    spliced: list[int],
) -> None:
    """Reset after 256 KiB of every GET: the object fails after max_attempts, its spliced temp
    file is removed, and the other object lands."""
    s3.put_object(Bucket=bucket, Key="data/bad.bin", Body=os.urandom(MiB))
    s3.put_object(Bucket=bucket, Key="data/good.bin", Body=b"g" * MiB)
    proxy.reset_after(MiB // 4, pause=0.1, key="bad.bin")
    with pytest.raises(IngestFailed) as excinfo:
        await make_ingester(endpoint_url=proxy.url, max_attempts=2).sync()

    assert isinstance(excinfo.value.failures["data/bad.bin"], TransferError)
    assert sum(spliced) > 0
    assert (dest / "ds" / "good.bin").read_bytes() == b"g" * MiB
    assert not (dest / "ds" / "bad.bin").exists()
    assert os.listdir(dest / "ds" / ".aio-s3-ingest" / "tmp") == []
