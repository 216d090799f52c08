"""Checksums: the algorithms against published check values, S3's header forms, spans joined."""

from __future__ import annotations

import base64
import hashlib
import os
import pathlib

import pytest

from aio_s3_ingest._integrity.algorithms import ALGORITHMS, usable
from aio_s3_ingest._integrity.digest import (
    b64,
    composite,
    file_digest,
    memory_digest,
    part_digests,
)
from aio_s3_ingest._integrity.expected import Checksum, from_etag, from_headers

CHECK_INPUT = b"123456789"
# The "check" values of the CRC catalogue (reveng.sourceforge.io/crc-catalogue).
CHECK_VALUES = {
    "CRC32": 0xCBF43926,
    "CRC32C": 0xE3069283,
    "CRC64NVME": 0xAE8B14860A799888,
}


@pytest.mark.parametrize(("name", "value"), sorted(CHECK_VALUES.items()))
def test_each_crc_gives_its_catalogue_check_value(name: str, value: int) -> None:
    """CRC32 from zlib, CRC32C and CRC64NVME from awscrt, all big-endian as S3 encodes them."""
    algorithm = usable(name)
    assert algorithm is not None, f"{name} needs awscrt, a test dependency"
    width = 8 if name == "CRC64NVME" else 4
    assert memory_digest(algorithm, CHECK_INPUT) == value.to_bytes(width, "big")


@pytest.mark.parametrize("name", ["SHA1", "SHA256", "SHA512", "MD5"])
def test_hash_algorithms_are_hashlib_digests(name: str) -> None:
    algorithm = usable(name)
    assert algorithm is not None
    expected = hashlib.new(name.lower(), CHECK_INPUT).digest()
    assert memory_digest(algorithm, CHECK_INPUT) == expected


def test_every_algorithm_s3_names_is_known() -> None:
    """The names of botocore's ChecksumAlgorithm enum, each with its header."""
    assert set(ALGORITHMS) == {
        "CRC32",
        "CRC32C",
        "CRC64NVME",
        "SHA1",
        "SHA256",
        "SHA512",
        "MD5",
        "XXHASH64",
        "XXHASH3",
        "XXHASH128",
    }


def test_headers_give_full_object_and_composite_checksums() -> None:
    """``value-N`` is a composite checksum of N parts; anything else covers the object."""
    full = from_headers({"x-amz-checksum-crc64nvme": "AAAAAAAAAAA=", "x-amz-checksum-type": "X"})
    assert full == Checksum("CRC64NVME", "AAAAAAAAAAA=")
    parts = from_headers({"x-amz-checksum-sha256": "abc+/=-12"})
    assert parts == Checksum("SHA256", "abc+/=", 12)
    assert from_headers({"etag": '"x"'}) is None


@pytest.mark.parametrize("text", ["CRC32:AAAAAA==", "SHA256:abc=-3"])
def test_a_checksum_reads_back_from_its_text(text: str) -> None:
    assert str(Checksum.parse(text)) == text


@pytest.mark.parametrize("text", ["", "CRC32", "NOPE:abc", "CRC32:"])
def test_text_that_is_not_a_checksum_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a checksum"):
        Checksum.parse(text)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["CRC32", "CRC32C", "CRC64NVME", "SHA256"])
async def test_a_file_digest_equals_one_pass_whatever_the_spans(
    tmp_path: pathlib.Path, name: str
) -> None:
    """A 70 MiB file hashed in spans on threads (CRCs joined) equals one pass in memory."""
    algorithm = usable(name)
    assert algorithm is not None
    data = os.urandom(70 * 1024 * 1024 + 3)
    path = tmp_path / "data"
    path.write_bytes(data)
    assert await file_digest(algorithm, path, len(data)) == memory_digest(algorithm, data)


@pytest.mark.asyncio
async def test_composite_checksum_is_the_checksum_of_the_parts_checksums(
    tmp_path: pathlib.Path,
) -> None:
    algorithm = usable("SHA256")
    assert algorithm is not None
    data = os.urandom(3000)
    path = tmp_path / "data"
    path.write_bytes(data)
    parts = [(0, 1000), (1000, 2500), (2500, 3000)]
    digests = await part_digests(algorithm, path, parts)
    assert digests == [hashlib.sha256(data[a:b]).digest() for a, b in parts]
    joined = hashlib.sha256(b"".join(digests)).digest()
    assert b64(composite(algorithm, digests)) == base64.b64encode(joined).decode()


def test_only_a_single_part_unencrypted_etag_is_an_md5() -> None:
    """A plain ETag is the object's MD5; a multipart one (-N), or one of an object encrypted
    with KMS or a customer key, is not."""
    md5 = hashlib.md5(b"data").hexdigest()
    expected = Checksum("MD5", base64.b64encode(hashlib.md5(b"data").digest()).decode())
    assert from_etag(f'"{md5}"', {}) == expected
    assert from_etag(f'"{md5}"', {"x-amz-server-side-encryption": "AES256"}) == expected
    assert from_etag(f'"{md5}-2"', {}) is None
    assert from_etag(f'"{md5}"', {"x-amz-server-side-encryption": "aws:kms"}) is None
    sse_c = {"x-amz-server-side-encryption-customer-algorithm": "AES256"}
    assert from_etag(f'"{md5}"', sse_c) is None
