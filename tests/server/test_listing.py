"""Listing and selection against a real endpoint: pages, paths, patterns, safety, timestamps."""

from __future__ import annotations

import pathlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import boto3
import pytest
from botocore.config import Config

from aio_s3_ingest import (
    AsyncS3Ingester,
    IngestFailed,
    NoMatchingFilesError,
    TimestampToleranceError,
    UnsafeKeyError,
)
from tests._helpers import MakeIngester, data_files

REGION = "eu-west-1"
STATE_DIR = ".aio-s3-ingest"


def put(s3: Any, bucket: str, *keys: str) -> None:
    """Upload each key with its own name as body, so a misplaced file is noticed."""
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode("utf-8", "surrogatepass"))


def module_client(endpoint: str, config: Config | None = None) -> Any:
    """A boto3 client for arranging objects outside the per-test ``s3`` fixture."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def _drop_expect_header(request: Any, **_: Any) -> None:
    # botocore sends "Expect: 100-continue" with every PUT body and waits for the
    # interim answer; against the local server that round trip only costs time.
    request.headers.pop("Expect", None)


@pytest.fixture
def fast_s3(moto_endpoint: str) -> Any:
    """A boto3 client tuned for many tiny uploads from a thread pool."""
    config = Config(max_pool_connections=16, request_checksum_calculation="when_required")
    client = module_client(moto_endpoint, config)
    client.meta.events.register("before-send.s3.PutObject", _drop_expect_header)
    return client


def new_bucket(client: Any, stem: str) -> str:
    """Create a uniquely named bucket."""
    name = f"{stem}-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def shared_ingester(endpoint: str, bucket: str, dest: pathlib.Path) -> MakeIngester:
    """A factory of ingesters on a shared bucket, each writing to this test's destination."""

    def make(prefix: str = "data/", **options: Any) -> AsyncS3Ingester:
        return AsyncS3Ingester(
            bucket,
            prefix,
            dataset_id="ds",
            destination_directory=dest,
            endpoint_url=endpoint,
            **options,
        )

    return make


# --- pagination ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_listing_follows_every_page(
    fast_s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A prefix with 2,500 objects (three ListObjectsV2 pages) yields all 2,500 local files."""
    count = 2500
    # Objects on both sides of each 1,000-key page boundary carry their index as body;
    # the others are empty, so the run costs one listing per page and few GETs.
    with_body = {0, 999, 1000, 1999, 2000, count - 1}

    def upload(i: int) -> None:
        body = f"{i:05d}".encode() if i in with_body else b""
        fast_s3.put_object(Bucket=bucket, Key=f"data/{i:05d}.txt", Body=body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(upload, range(count)))

    paths = await make_ingester().fetch_data()
    root = dest / "ds"
    assert paths == [root / f"{i:05d}.txt" for i in range(count)]
    assert len(data_files(root)) == count
    for i in sorted(with_body):
        assert (root / f"{i:05d}.txt").read_bytes() == f"{i:05d}".encode()


# --- key -> relative path --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_keys_land_relative_to_the_prefix(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """``prefix/sub/a.csv`` lands at ``<dataset>/sub/a.csv`` with the object's bytes."""
    put(s3, bucket, "data/sub/a.csv", "data/top.csv", "data/sub/deeper/b.csv", "elsewhere/c.csv")
    paths = await make_ingester().fetch_data()
    root = dest / "ds"
    assert paths == [root / "sub/a.csv", root / "sub/deeper/b.csv", root / "top.csv"]
    assert (root / "sub/a.csv").read_bytes() == b"data/sub/a.csv"
    assert (root / "sub/deeper/b.csv").read_bytes() == b"data/sub/deeper/b.csv"
    assert data_files(root) == ["sub/a.csv", "sub/deeper/b.csv", "top.csv"]


@pytest.mark.asyncio
async def test_same_basename_in_two_folders_both_land(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Two keys with the same basename in different folders are two distinct local files."""
    put(s3, bucket, "data/2024/part.csv", "data/2025/part.csv", "data/part.csv")
    await make_ingester().fetch_data()
    root = dest / "ds"
    assert data_files(root) == ["2024/part.csv", "2025/part.csv", "part.csv"]
    assert (root / "2024/part.csv").read_bytes() == b"data/2024/part.csv"
    assert (root / "2025/part.csv").read_bytes() == b"data/2025/part.csv"


@pytest.mark.asyncio
async def test_prefix_ending_inside_a_name_maps_relative_to_its_folder(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """With prefix ``data/file_``, ``data/file_1.csv`` lands at ``file_1.csv``; others stay out."""
    put(s3, bucket, "data/file_1.csv", "data/file_2/x.csv", "data/other.csv")
    paths = await make_ingester("data/file_").fetch_data()
    root = dest / "ds"
    assert paths == [root / "file_1.csv", root / "file_2/x.csv"]
    assert (root / "file_1.csv").read_bytes() == b"data/file_1.csv"


@pytest.mark.asyncio
async def test_prefix_without_trailing_slash_names_a_folder_for_keys_below_it(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Prefix ``data``: ``data/a.csv`` lands at ``a.csv``; ``database/b.csv``, which continues
    the prefix inside a name, keeps its path from the bucket root."""
    put(s3, bucket, "data/a.csv", "database/b.csv", "other/c.csv")
    await make_ingester("data").fetch_data()
    assert data_files(dest / "ds") == ["a.csv", "database/b.csv"]


@pytest.mark.asyncio
async def test_folder_markers_are_skipped(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Zero-byte keys ending in '/' are folder markers: no file, no folder, no path returned."""
    for marker in ("data/", "data/sub/", "data/empty/"):
        s3.put_object(Bucket=bucket, Key=marker, Body=b"")
    put(s3, bucket, "data/sub/a.csv")
    paths = await make_ingester().fetch_data()
    root = dest / "ds"
    assert paths == [root / "sub/a.csv"]
    assert data_files(root) == ["sub/a.csv"]
    assert not (root / "empty").exists()


@pytest.mark.asyncio
async def test_empty_prefix_fetches_the_whole_bucket(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Prefix "" selects every key in the bucket, each at its full key path."""
    put(s3, bucket, "a.csv", "sub/b.csv", "x/y/z.bin")
    paths = await make_ingester("").fetch_data()
    root = dest / "ds"
    assert paths == [root / "a.csv", root / "sub/b.csv", root / "x/y/z.bin"]
    assert (root / "x/y/z.bin").read_bytes() == b"x/y/z.bin"


# --- patterns --------------------------------------------------------------------------------


PATTERN_KEYS = ("data/a.csv", "data/b.json", "data/sub/c.csv", "data/sub/d.txt", "data/other/e.csv")


@pytest.fixture(scope="module")
def pattern_bucket(moto_endpoint: str) -> str:
    """A bucket holding PATTERN_KEYS, shared by the read-only pattern tests."""
    client = module_client(moto_endpoint)
    name = new_bucket(client, "patterns")
    put(client, name, *PATTERN_KEYS)
    return name


@pytest.fixture
def pattern_ingester(moto_endpoint: str, pattern_bucket: str, dest: pathlib.Path) -> MakeIngester:
    """Ingesters on the shared pattern bucket."""
    return shared_ingester(moto_endpoint, pattern_bucket, dest)


@pytest.mark.parametrize(
    ("file_pattern", "expected"),
    [
        ("*", ["a.csv", "b.json", "other/e.csv", "sub/c.csv", "sub/d.txt"]),
        ("*.csv", ["a.csv", "other/e.csv", "sub/c.csv"]),
        ("c.csv", ["sub/c.csv"]),
        ("sub/*.csv", ["sub/c.csv"]),
        ("sub/*", ["sub/c.csv", "sub/d.txt"]),
        (["*.json", "*.txt"], ["b.json", "sub/d.txt"]),
        (["sub/*.csv", "a.*"], ["a.csv", "sub/c.csv"]),
        (("*.json",), ["b.json"]),
        ("[ab].*", ["a.csv", "b.json"]),
    ],
)
@pytest.mark.asyncio
async def test_file_pattern_selects_by_relative_path_or_basename(
    pattern_ingester: MakeIngester,
    dest: pathlib.Path,
    file_pattern: str | list[str],
    expected: list[str],
) -> None:
    """Patterns match the relative path; one without '/' also matches the basename; any counts."""
    paths = await pattern_ingester(file_pattern=file_pattern).fetch_data()
    root = dest / "ds"
    assert paths == [root / rel for rel in expected]
    assert data_files(root) == expected


@pytest.mark.asyncio
async def test_slash_pattern_does_not_match_the_basename_or_full_key(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """``sub/*.csv`` never matches a top-level file, and ``data/...`` patterns see no prefix."""
    put(s3, bucket, "data/a.csv", "data/other/sub.csv")
    with pytest.raises(NoMatchingFilesError):
        await make_ingester(file_pattern="sub/*.csv").fetch_data()
    with pytest.raises(NoMatchingFilesError):
        await make_ingester(file_pattern="data/*.csv").fetch_data()
    assert data_files(dest) == []


@pytest.mark.asyncio
async def test_no_match_is_a_file_not_found_error_and_writes_nothing(
    pattern_bucket: str, pattern_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """No matching object raises NoMatchingFilesError (a FileNotFoundError) naming the prefix."""
    with pytest.raises(FileNotFoundError) as info:
        await pattern_ingester(file_pattern=["*.parquet", "*.orc"]).fetch_data()
    assert isinstance(info.value, NoMatchingFilesError)
    assert f"s3://{pattern_bucket}/data/" in str(info.value)
    assert "*.parquet" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_empty_prefix_listing_is_no_match(
    bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """An empty bucket (nothing under the prefix at all) is NoMatchingFilesError too."""
    with pytest.raises(NoMatchingFilesError):
        await make_ingester().fetch_data()
    assert not await anyio.Path(dest).exists()


# --- unsafe keys -----------------------------------------------------------------------------


def unsafe_cases(tmp: pathlib.Path) -> dict[str, str]:
    """Case id -> a key that must be refused (absolute targets point into ``tmp``)."""
    return {
        "dotdot": "data/../escaped.txt",
        "dotdot-nested": "data/a/../../escaped.txt",
        "dotdot-whole": "data/..",
        "absolute": "data/" + (tmp / "absolute-target.txt").as_posix(),
        "nul": "data/nul\0byte.txt",
        "long-segment": "data/" + "é" * 128 + "/x.txt",  # 128 characters but 256 bytes
        "reserved": f"data/{STATE_DIR}/manifest.json",
        "dot-segment": "data/./dot.txt",
        "empty-segment": "data/a//b.txt",
    }


@pytest.mark.parametrize("case", list(unsafe_cases(pathlib.Path("/x"))))
@pytest.mark.asyncio
async def test_unsafe_key_is_refused_before_anything_is_written(
    s3: Any,
    bucket: str,
    tmp_path: pathlib.Path,
    make_ingester: MakeIngester,
    case: str,
) -> None:
    """An unsafe key raises UnsafeKeyError naming it, and no file is written anywhere."""
    key = unsafe_cases(tmp_path)[case]
    put(s3, bucket, "data/ok.csv", key)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert key in listed, f"moto did not store {key!r} verbatim: {listed}"

    with pytest.raises(UnsafeKeyError) as info:
        await make_ingester().fetch_data()
    assert info.value.keys == [key]
    assert repr(key) in str(info.value)
    assert data_files(tmp_path) == []


@pytest.mark.asyncio
async def test_key_that_is_both_file_and_folder_is_refused(
    s3: Any, bucket: str, tmp_path: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """``data/a`` and ``data/a/b`` cannot both be stored: refused, nothing written."""
    put(s3, bucket, "data/a", "data/a/b", "data/ok.csv")
    with pytest.raises(UnsafeKeyError) as info:
        await make_ingester().fetch_data()
    assert info.value.keys == ["data/a/b"]
    assert "'data/a'" in str(info.value)
    assert data_files(tmp_path) == []


@pytest.mark.asyncio
async def test_unsafe_key_excluded_by_the_pattern_does_not_block(
    s3: Any, bucket: str, tmp_path: pathlib.Path, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Only selected keys are checked: an unsafe key the pattern excludes is simply ignored."""
    put(s3, bucket, "data/ok.csv", "data/../escaped.txt")
    await make_ingester(file_pattern="*.csv").fetch_data()
    assert data_files(tmp_path) == ["dest/ds/ok.csv"]


@pytest.mark.asyncio
async def test_symlinked_folder_pointing_outside_is_not_followed(
    s3: Any, bucket: str, tmp_path: pathlib.Path, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A folder symlink leading outside the dataset fails that key; nothing lands outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "ds").mkdir(parents=True)
    (dest / "ds" / "evil").symlink_to(outside, target_is_directory=True)
    put(s3, bucket, "data/evil/x", "data/evil/deeper/y", "data/ok.csv")

    with pytest.raises(IngestFailed) as info:
        await make_ingester().fetch_data()
    assert set(info.value.failures) == {"data/evil/x", "data/evil/deeper/y"}
    assert all(isinstance(exc, UnsafeKeyError) for exc in info.value.failures.values())
    assert list(outside.iterdir()) == []
    assert (dest / "ds" / "ok.csv").read_bytes() == b"data/ok.csv"


@pytest.mark.asyncio
async def test_symlinked_file_is_replaced_not_written_through(
    s3: Any, bucket: str, tmp_path: pathlib.Path, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A symlink at a file's path is replaced by the file; its outside target is untouched."""
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    (dest / "ds").mkdir(parents=True)
    (dest / "ds" / "a.csv").symlink_to(outside)
    put(s3, bucket, "data/a.csv")

    await make_ingester().fetch_data()
    assert outside.read_bytes() == b"precious"
    assert not (dest / "ds" / "a.csv").is_symlink()
    assert (dest / "ds" / "a.csv").read_bytes() == b"data/a.csv"


# --- timestamp tolerance ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def spread_bucket(moto_endpoint: str) -> str:
    """A bucket holding ``data/old.csv`` and, more than a second later, ``data/new.csv``.

    moto stamps LastModified with the upload time to the second, so the sleep is
    what makes the two timestamps differ; the bucket is shared to pay for it once.
    """
    client = module_client(moto_endpoint)
    name = new_bucket(client, "spread")
    put(client, name, "data/old.csv")
    time.sleep(1.1)  # LastModified has one-second resolution: the timestamps must differ
    put(client, name, "data/new.csv")
    stamps = {o["Key"]: o["LastModified"] for o in client.list_objects_v2(Bucket=name)["Contents"]}
    assert stamps["data/new.csv"] > stamps["data/old.csv"]
    return name


@pytest.fixture
def spread_ingester(moto_endpoint: str, spread_bucket: str, dest: pathlib.Path) -> MakeIngester:
    """Ingesters on the shared spread bucket."""
    return shared_ingester(moto_endpoint, spread_bucket, dest)


@pytest.mark.asyncio
async def test_timestamp_spread_beyond_tolerance_raises(
    spread_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """Tolerance 0 refuses objects modified a second apart, naming both, before writing."""
    with pytest.raises(TimestampToleranceError) as info:
        await spread_ingester(s3_timestamp_tolerance=0).fetch_data()
    assert "'data/old.csv'" in str(info.value)
    assert "'data/new.csv'" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.parametrize("tolerance", [-1, 1, 24.0])
@pytest.mark.asyncio
async def test_timestamp_spread_within_tolerance_or_off_passes(
    spread_ingester: MakeIngester, dest: pathlib.Path, tolerance: float
) -> None:
    """Tolerance -1 never checks; an hour or more accepts a spread of seconds."""
    await spread_ingester(s3_timestamp_tolerance=tolerance).fetch_data()
    assert data_files(dest / "ds") == ["new.csv", "old.csv"]


@pytest.mark.asyncio
async def test_timestamp_tolerance_only_considers_selected_objects(
    spread_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """An object the pattern excludes does not count toward the spread."""
    await spread_ingester(s3_timestamp_tolerance=0, file_pattern="new.csv").fetch_data()
    assert data_files(dest / "ds") == ["new.csv"]
