"""A multipart object with a composite checksum, checked part by part on ranges cut at its
parts: a corrupted part is found by its own checksum and fetched again alone.

The proxy behaves like S3 (no checksum on a ranged GET's answer) and flips body bytes of
chosen ranges; moto keeps each part's checksum and answers HEADs of one part with it.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from aio_s3_ingest import ChecksumMismatchError, IngestFailed, S3AccessError
from aio_s3_ingest._local.partials import journaled_ranges
from tests._proxy import (
    Exchange,
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._transfer import (
    Ingester,
    MiB,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    put_multipart,
    range_start,
    temp_files,
    via_proxy_fixture,  # noqa: F401 - the "via_proxy" fixture
)

KEY = "data/multi"
SIZES = [5 * MiB, 5 * MiB, 2 * MiB]
# The parts' ranges as a Range header gives them.
PART_RANGES = ["bytes=0-5242879", "bytes=5242880-10485759", "bytes=10485760-12582911"]
# Three ranges of 4 MiB would cut parts 1 and 2 in two; cut at the parts instead.
OPTIONS = {"workers_per_file": 3, "part_size": 1 * MiB}


def part_heads(proxy: FaultProxy) -> list[str]:
    """The part numbers HEADs of the object asked for, in order."""
    heads = [x for x in proxy.exchanges if x.method == "HEAD" and x.key == KEY]
    return sorted(x.query.partition("partNumber=")[2] for x in heads if "partNumber" in x.query)


def ranges(gets: list[Exchange]) -> list[str | None]:
    return [exchange.range for exchange in gets]


def by_start(ranges: list[str | None]) -> list[str | None]:
    return sorted(ranges, key=range_start)


@pytest.mark.asyncio
async def test_ranges_are_cut_at_the_parts_and_each_part_is_checked(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """One GET per part, not three ranges of 4 MiB; one HEAD per part; verified."""
    body, _ = put_multipart(s3, bucket, KEY, SIZES, "SHA256")
    report = await via_proxy(**OPTIONS).sync()
    assert by_start(ranges(proxy.data_gets(KEY))) == PART_RANGES
    assert part_heads(proxy) == ["1", "2", "3"]
    assert report.verified == {"SHA256": 1}
    assert (dataset / "multi").read_bytes() == body


@pytest.mark.asyncio
async def test_a_part_corrupted_once_is_fetched_again_alone(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """A byte flipped in part 2's GET: part 2 fails its own checksum and only its bytes
    are asked for again; the file lands right and verified."""
    body, _ = put_multipart(s3, bucket, KEY, SIZES, "SHA256")
    proxy.flip_byte(4321, key=KEY, times=1, when=lambda request: request.range == PART_RANGES[1])
    report = await via_proxy(**OPTIONS).sync()
    gets = ranges(proxy.data_gets(KEY))
    assert by_start(gets[:3]) == PART_RANGES
    assert gets[3:] == [PART_RANGES[1]]
    assert report.verified == {"SHA256": 1}
    assert (dataset / "multi").read_bytes() == body


@pytest.mark.asyncio
async def test_a_part_corrupted_every_time_fails_the_file_naming_the_part(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Part 3 corrupted on every GET: ChecksumMismatchError names part 3, S3's checksum of
    that part and the bytes'; the part was asked for twice, the others once; nothing is
    left at the final path or in the temp folder; a clean rerun fetches it."""
    body, part_checksums = put_multipart(s3, bucket, KEY, SIZES, "CRC32")
    proxy.flip_byte(7, key=KEY, when=lambda request: request.range == PART_RANGES[2])
    with pytest.raises(IngestFailed) as failed:
        await via_proxy(**OPTIONS).fetch_data()
    error = failed.value.failures[KEY]
    assert isinstance(error, ChecksumMismatchError)
    assert (error.part, error.algorithm, error.expected) == (3, "CRC32", part_checksums[2])
    assert error.got != error.expected
    assert "CRC32 checksum mismatch in part 3: S3 has" in str(error)
    assert by_start(ranges(proxy.data_gets(KEY))) == [*PART_RANGES, PART_RANGES[2]]
    assert not (dataset / "multi").exists()
    assert temp_files(dataset) == []
    proxy.clear_rules()
    rerun = await via_proxy(**OPTIONS).sync()
    assert rerun.verified == {"CRC32": 1}
    assert (dataset / "multi").read_bytes() == body


@pytest.mark.asyncio
async def test_uneven_parts_are_placed_by_their_heads(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Parts of 5, 6 and 1 MiB: part 1's size misleads the first cut, each part's HEAD
    gives its true place; a byte flipped once in the second GET is caught by part 2's
    checksum, and only part 2's bytes are asked for again."""
    body, _ = put_multipart(s3, bucket, KEY, [5 * MiB, 6 * MiB, 1 * MiB], "CRC32C")
    second = "bytes=5242880-10485759"  # cut where part 1's size put part 2's end
    proxy.flip_byte(100, key=KEY, times=1, when=lambda request: request.range == second)
    report = await via_proxy(**OPTIONS).sync()
    assert ranges(proxy.data_gets(KEY))[3:] == ["bytes=5242880-11534335"]  # part 2, as it is
    assert report.verified == {"CRC32C": 1}
    assert (dataset / "multi").read_bytes() == body


@pytest.mark.asyncio
async def test_a_resumed_part_corrupted_on_disk_is_fetched_again_alone(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """A run fails on part 3 after parts 1 and 2 landed; a byte of part 1 then changes on
    disk. The next run asks for the rest of part 3 and for part 1 again, nothing of
    part 2, and the file lands verified."""
    body, _ = put_multipart(s3, bucket, KEY, SIZES, "SHA256")
    proxy.reset_after(1 * MiB, pause=1.0, key=KEY, when=lambda req: req.range == PART_RANGES[2])
    with pytest.raises(IngestFailed):
        await via_proxy(max_attempts=1, **OPTIONS).sync()
    (partial,) = (dataset / ".aio-s3-ingest" / "tmp").glob("*.partial")
    _header, _, lines = partial.with_suffix(".ranges").read_bytes().partition(b"\n")
    ((start, reached),) = journaled_ranges(lines, sum(SIZES))
    assert start == 0
    assert 10 * MiB <= reached < 12 * MiB
    with partial.open("r+b") as file:
        file.seek(1000)
        file.write(b"\xff" * 8)
    proxy.clear_rules()
    proxy.reset_stats()
    report = await via_proxy(**OPTIONS).sync()
    assert by_start(ranges(proxy.data_gets(KEY))) == [PART_RANGES[0], f"bytes={reached}-12582911"]
    assert report.bytes_resumed == reached
    assert report.verified == {"SHA256": 1}
    assert (dataset / "multi").read_bytes() == body


@pytest.mark.asyncio
async def test_a_full_object_checksum_costs_the_two_first_heads_only(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """A multipart object with a full-object CRC64NVME: the object's HEAD and part 1's
    (sent before the GETs) tell there are no part checksums; no HEAD per part, no second
    HEAD of the object, ranges as ``workers_per_file`` cuts them; verified whole."""
    body, _ = put_multipart(s3, bucket, KEY, SIZES, "CRC64NVME")
    report = await via_proxy(**OPTIONS).sync()
    heads = [x.query for x in proxy.exchanges if x.method == "HEAD" and x.key == KEY]
    assert sorted(heads) == ["", "partNumber=1"]
    assert by_start(ranges(proxy.data_gets(KEY))) == [
        "bytes=0-4194303",
        "bytes=4194304-8388607",
        "bytes=8388608-12582911",
    ]
    assert report.verified == {"CRC64NVME": 1}
    assert (dataset / "multi").read_bytes() == body


@pytest.mark.asyncio
async def test_a_part_head_refused_fails_the_file_with_s3s_error_itself(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Part 3's HEAD answered AccessDenied, beside the GETs: the file fails with
    S3AccessError (not an ExceptionGroup of the tasks beside it), and nothing is left."""
    put_multipart(s3, bucket, KEY, SIZES, "SHA256")
    proxy.respond(403, "AccessDenied", method="HEAD", when=lambda r: "partNumber=3" in r.query)
    with pytest.raises(IngestFailed) as failed:
        await via_proxy(**OPTIONS).fetch_data()
    assert isinstance(failed.value.failures[KEY], S3AccessError)
    assert "ExceptionGroup" not in str(failed.value)
    assert not (dataset / "multi").exists()
