"""Every file checked against S3's checksum: each algorithm, whole and ranged GETs, both paths.

The proxy behaves like S3 (no checksum on a ranged GET's answer) and flips body bytes on
demand; moto keeps the checksums boto3 computed at upload and builds multipart ones.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest

from aio_s3_ingest import ChecksumMismatchError, IngestFailed, IntegrityError
from tests._listing import REGION
from tests._manifest import read_manifest_at
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._transfer import (
    Ingester,
    KiB,
    MiB,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    put_multipart,
    temp_files,
    via_proxy_fixture,  # noqa: F401 - the "via_proxy" fixture
)

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


def put(s3: Any, bucket: str, key: str, size: int, algorithm: str) -> bytes:
    body = os.urandom(size)
    s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm=algorithm)
    return body


def recorded_checksums(dataset: pathlib.Path) -> dict[str, str | None]:
    document = read_manifest_at(dataset / ".aio-s3-ingest")
    return {path: record["checksum"] for path, record in document["files"].items()}


@pytest.mark.asyncio
async def test_each_algorithm_is_verified_on_whole_and_ranged_gets(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Single-part objects of each algorithm, one fetched whole, one in ranges: every file
    verified, counted by algorithm, its checksum recorded in the local manifest."""
    bodies = {}
    for algorithm in ALGORITHMS:
        bodies[f"{algorithm}-small"] = put(
            s3, bucket, f"data/{algorithm}-small", 100 * KiB, algorithm
        )
        bodies[f"{algorithm}-large"] = put(
            s3, bucket, f"data/{algorithm}-large", 3 * MiB, algorithm
        )
    report = await via_proxy(workers_per_file=3, part_size=1 * MiB).sync()
    assert report.verified == dict.fromkeys(ALGORITHMS, 2)
    assert report.unverified == 0
    for name, body in bodies.items():
        assert (dataset / name).read_bytes() == body
    recorded = recorded_checksums(dataset)
    for name in bodies:
        assert (recorded[name] or "").startswith(name.split("-")[0] + ":"), recorded
    small_gets = proxy.data_gets("data/SHA256-small")
    assert [exchange.range for exchange in small_gets] == [None]  # S3 gives checksums whole only
    assert len(proxy.data_gets("data/SHA256-large")) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize("key", ["data/small", "data/large"])
async def test_a_byte_flipped_once_is_caught_and_the_file_fetched_again(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy, key: str
) -> None:
    """One corrupted body: the checksum differs, the file is fetched once more and lands right."""
    body = put(s3, bucket, key, 2 * MiB if key.endswith("large") else 50 * KiB, "CRC32C")
    proxy.flip_byte(1000, key=key, times=1)
    report = await via_proxy(workers_per_file=2, part_size=1 * MiB).sync()
    assert (dataset / key.removeprefix("data/")).read_bytes() == body
    assert report.verified == {"CRC32C": 1}
    gets = len(proxy.data_gets(key))
    assert gets == (4 if key.endswith("large") else 2)  # every range again, after the mismatch


@pytest.mark.asyncio
@pytest.mark.parametrize("key", ["data/small", "data/large"])
async def test_a_byte_flipped_every_time_fails_the_file_and_leaves_nothing(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy, key: str
) -> None:
    """Corrupted on every GET: ChecksumMismatchError names the key, algorithm, S3's value and
    the bytes'; no file at the final path, no temp file; the other file lands."""
    put(s3, bucket, key, 2 * MiB if key.endswith("large") else 50 * KiB, "CRC64NVME")
    other = put(s3, bucket, "data/other", 10 * KiB, "CRC64NVME")
    proxy.flip_byte(7, key=key)
    with pytest.raises(IngestFailed) as failed:
        await via_proxy(workers_per_file=2, part_size=1 * MiB).fetch_data()
    error = failed.value.failures[key]
    assert isinstance(error, ChecksumMismatchError)
    assert error.algorithm == "CRC64NVME"
    assert error.expected != error.got
    assert f"S3 has {error.expected}, got {error.got}" in str(error)
    assert not (dataset / key.removeprefix("data/")).exists()
    assert temp_files(dataset) == []
    assert (dataset / "other").read_bytes() == other
    proxy.clear_rules()
    rerun = await via_proxy(workers_per_file=2, part_size=1 * MiB).sync()
    assert rerun.fetched == (key.removeprefix("data/"),)
    assert rerun.verified == {"CRC64NVME": 1}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("algorithm", "sizes"),
    [
        ("CRC64NVME", [5 * MiB, 1 * MiB]),  # full-object: moto's default for multipart
        ("SHA256", [5 * MiB, 5 * MiB, 2 * MiB]),  # composite, even parts
        ("CRC32C", [5 * MiB, 6 * MiB, 1 * MiB]),  # composite, uneven: part 1's size misleads
    ],
)
async def test_multipart_objects_are_verified_in_ranges_and_whole(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    via_proxy: Ingester,
    algorithm: str,
    sizes: list[int],
) -> None:
    """A multipart object's checksum, full-object or composite (-N), checks out both when
    fetched in ranges that do not all fall on its parts and as one GET."""
    body, _ = put_multipart(s3, bucket, "data/multi", sizes, algorithm)
    for options in ({"workers_per_file": 4, "part_size": 1 * MiB}, {"part_size": 64 * MiB}):
        report = await via_proxy(**options).sync(force_recompute=True)
        assert report.verified == {algorithm: 1}, options
        assert (dataset / "multi").read_bytes() == body
    recorded = recorded_checksums(dataset)["multi"] or ""
    composite = algorithm != "CRC64NVME"
    assert recorded.endswith(f"-{len(sizes)}") == composite


@pytest.mark.asyncio
async def test_a_flipped_byte_in_a_composite_multipart_object_fails_it(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """A byte corrupted in every range of a SHA256 composite object is caught."""
    put_multipart(s3, bucket, "data/multi", [5 * MiB, 5 * MiB], "SHA256")
    proxy.flip_byte(100, key="data/multi", when=lambda request: request.range is not None)
    with pytest.raises(IngestFailed) as failed:
        await via_proxy(workers_per_file=2, part_size=1 * MiB).fetch_data()
    assert isinstance(failed.value.failures["data/multi"], ChecksumMismatchError)
    assert not (dataset / "multi").exists()


@pytest.mark.asyncio
async def test_require_fails_an_object_without_a_checksum_and_off_asks_for_none(
    moto_endpoint: str, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """verify='require': an object S3 has no checksum for fails with IntegrityError (not a
    mismatch, and not fetched twice); verify='off' asks for no checksum and counts none."""
    plain = plain_client(moto_endpoint)
    plain.put_object(Bucket=bucket, Key="data/bare", Body=b"x" * 1000)
    with pytest.raises(IngestFailed) as failed:
        await via_proxy(verify="require").fetch_data()
    error = failed.value.failures["data/bare"]
    assert type(error) is IntegrityError
    assert "no checksum" in str(error)
    assert len(proxy.data_gets("data/bare")) == 1
    proxy.reset_stats()
    report = await via_proxy(verify="off").sync()
    assert report.verified == {}
    assert report.unverified == 1
    assert [exchange.range for exchange in proxy.data_gets("data/bare")] == ["bytes=0-999"]
    assert (dataset / "bare").read_bytes() == b"x" * 1000


def plain_client(moto_endpoint: str) -> Any:
    """A boto3 client that uploads without a checksum (boto3 adds a CRC32 by default)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        config=Config(request_checksum_calculation="when_required"),
    )


@pytest.mark.asyncio
async def test_etag_checks_objects_without_a_checksum_by_the_md5_their_etag_is(
    moto_endpoint: str, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """verify='etag': single-part objects S3 has no checksum for, one whole and one in
    ranges, are checked against their ETag's MD5 (counted as MD5); 'auto' leaves them
    unverified; a flipped byte fails the file with a mismatch naming MD5."""
    plain = plain_client(moto_endpoint)
    bodies = {"small": os.urandom(30 * KiB), "large": os.urandom(3 * MiB)}
    for name, body in bodies.items():
        plain.put_object(Bucket=bucket, Key=f"data/{name}", Body=body)
    options = {"workers_per_file": 3, "part_size": 1 * MiB}
    auto = await via_proxy(**options).sync()
    assert (auto.verified, auto.unverified) == ({}, 2)
    report = await via_proxy(verify="etag", **options).sync(force_recompute=True)
    assert (report.verified, report.unverified) == ({"MD5": 2}, 0)
    assert {name: (dataset / name).read_bytes() for name in bodies} == bodies
    proxy.flip_byte(5, key="data/large")
    with pytest.raises(IngestFailed) as failed:
        await via_proxy(verify="etag", **options).fetch_data(force_recompute=True)
    error = failed.value.failures["data/large"]
    assert isinstance(error, ChecksumMismatchError)
    assert error.algorithm == "MD5"
