"""What the transfer tests share: ingesters via the fault proxy on both GET paths, objects."""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester
from tests._proxy import FaultProxy, Request

KiB = 1024
MiB = 1024 * KiB

Ingester = Callable[..., AsyncS3Ingester]


@pytest.fixture(name="via_proxy", params=[True, False], ids=["direct", "botocore"])
def via_proxy_fixture(
    make_ingester: Ingester, proxy: FaultProxy, request: pytest.FixtureRequest
) -> Ingester:
    """make_ingester, pointed at the proxy; every fault test runs on both GET paths."""
    return lambda **options: make_ingester(
        endpoint_url=proxy.url, direct_get=request.param, **options
    )


@pytest.fixture(name="dataset")
def dataset_fixture(dest: pathlib.Path) -> pathlib.Path:
    """The dataset directory the ingesters write to."""
    return dest / "ds"


def put_random(s3: Any, bucket: str, key: str, size: int) -> tuple[bytes, str]:
    """Upload ``size`` random bytes at ``key``; return them and the object's ETag."""
    body = os.urandom(size)
    return body, s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]


def put_multipart(
    s3: Any, bucket: str, key: str, sizes: list[int], algorithm: str
) -> tuple[bytes, list[str]]:
    """A multipart upload of random parts of ``sizes`` with ``algorithm`` (composite
    checksums but for CRC64NVME); its bytes, and S3's checksum of each part."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm)
    parts, chunks = [], []
    for number, size in enumerate(sizes, start=1):
        chunks.append(os.urandom(size))
        answer = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=chunks[-1],
            ChecksumAlgorithm=algorithm,
        )
        checksum = {f"Checksum{algorithm}": answer[f"Checksum{algorithm}"]}
        parts.append({"PartNumber": number, "ETag": answer["ETag"], **checksum})
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    return b"".join(chunks), [part[f"Checksum{algorithm}"] for part in parts]


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def temp_files(dataset: pathlib.Path) -> list[str]:
    return sorted(os.listdir(dataset / ".aio-s3-ingest" / "tmp"))


def range_start(exchange_range: str | None) -> int:
    """Where a GET's range starts; 0 for a GET of the whole object (no Range)."""
    if exchange_range is None:
        return 0
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", exchange_range or "")
    assert match, f"not a byte range: {exchange_range!r}"
    return int(match.group(1))


def starts_past_zero(request: Request) -> bool:
    return request.range is not None and range_start(request.range) > 0
