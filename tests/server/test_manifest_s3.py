"""The S3 (Redshift UNLOAD style) manifest: it narrows the candidates, and must match S3."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import anyio
import pytest

from aio_s3_ingest import ManifestError, NoMatchingFilesError
from tests._helpers import MakeIngester, data_files


def put_objects(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    """Upload each key with its body."""
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def entry(bucket: str, key: str, length: int | None = None) -> dict[str, Any]:
    """One manifest entry; ``meta.content_length`` only when a length is given."""
    item: dict[str, Any] = {"url": f"s3://{bucket}/{key}", "mandatory": True}
    if length is not None:
        item["meta"] = {"content_length": length}
    return item


def put_manifest(
    s3: Any, bucket: str, entries: list[dict[str, Any]], key: str = "data/manifest"
) -> bytes:
    """Upload a manifest document listing ``entries``; return its bytes."""
    body = json.dumps({"entries": entries}).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return body


OBJECTS = {
    "data/a.csv": b"a" * 3,
    "data/b.json": b"b" * 4,
    "data/c.csv": b"c" * 5,
    "data/sub/d.csv": b"d" * 6,
}


@pytest.fixture
def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    """Four objects under ``data/`` with distinct sizes."""
    put_objects(s3, bucket, OBJECTS)
    return OBJECTS


@pytest.mark.asyncio
async def test_only_objects_in_the_manifest_are_fetched(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Listed objects the manifest does not name are left out; the manifest is never downloaded."""
    put_manifest(s3, bucket, [entry(bucket, "data/a.csv", 3), entry(bucket, "data/sub/d.csv", 6)])
    paths = await make_ingester().fetch_data()
    root = dest / "ds"
    assert paths == [root / "a.csv", root / "sub/d.csv"]
    assert data_files(root) == ["a.csv", "sub/d.csv"]
    assert (root / "sub/d.csv").read_bytes() == b"d" * 6


@pytest.mark.asyncio
async def test_pattern_applies_after_the_manifest(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """The file pattern narrows the manifest's objects further; unlisted matches stay out."""
    put_manifest(s3, bucket, [entry(bucket, "data/a.csv", 3), entry(bucket, "data/b.json", 4)])
    await make_ingester(file_pattern="*.csv").fetch_data()
    assert data_files(dest / "ds") == ["a.csv"]


@pytest.mark.asyncio
async def test_pattern_matching_only_unlisted_objects_is_no_match(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A pattern that matches only objects outside the manifest finds nothing."""
    put_manifest(s3, bucket, [entry(bucket, "data/b.json", 4)])
    with pytest.raises(NoMatchingFilesError):
        await make_ingester(file_pattern="*.csv").fetch_data()
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_pattern_matching_the_manifest_name_does_not_fetch_it(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Even a pattern that names it explicitly never selects the manifest object."""
    put_manifest(s3, bucket, [entry(bucket, "data/a.csv", 3)])
    with pytest.raises(NoMatchingFilesError):
        await make_ingester(file_pattern="manifest").fetch_data()
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_entries_without_meta_are_accepted(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """An entry with no ``meta`` (or no content_length) is taken without a size check."""
    put_manifest(
        s3,
        bucket,
        [entry(bucket, "data/a.csv"), {"url": f"s3://{bucket}/data/c.csv", "meta": {}}],
    )
    await make_ingester().fetch_data()
    assert data_files(dest / "ds") == ["a.csv", "c.csv"]


@pytest.mark.asyncio
async def test_entry_missing_in_s3_is_a_manifest_error(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A manifest entry with no object behind it means an incomplete dataset: nothing is written."""
    put_manifest(s3, bucket, [entry(bucket, "data/a.csv", 3), entry(bucket, "data/gone.csv", 9)])
    with pytest.raises(ManifestError) as info:
        await make_ingester().fetch_data()
    assert f"s3://{bucket}/data/gone.csv" in str(info.value)
    assert "'data/manifest'" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_entry_outside_the_prefix_is_a_manifest_error(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """An entry naming an object that exists but outside the prefix is not silently fetched."""
    s3.put_object(Bucket=bucket, Key="elsewhere/x.csv", Body=b"x")
    put_manifest(s3, bucket, [entry(bucket, "elsewhere/x.csv", 1)])
    with pytest.raises(ManifestError) as info:
        await make_ingester().fetch_data()
    assert f"s3://{bucket}/elsewhere/x.csv" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_entry_in_another_bucket_is_a_manifest_error(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """An entry in another bucket is refused, naming it."""
    put_manifest(
        s3, bucket, [entry(bucket, "data/a.csv", 3), entry("other-bucket", "data/a.csv", 3)]
    )
    with pytest.raises(ManifestError) as info:
        await make_ingester().fetch_data()
    assert "s3://other-bucket/data/a.csv" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_size_mismatch_is_a_manifest_error(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """An object whose size differs from its entry's content_length is refused, with both sizes."""
    put_manifest(s3, bucket, [entry(bucket, "data/a.csv", 3), entry(bucket, "data/c.csv", 50)])
    with pytest.raises(ManifestError) as info:
        await make_ingester().fetch_data()
    message = str(info.value)
    assert f"s3://{bucket}/data/c.csv" in message
    assert "5 bytes" in message
    assert "50" in message
    assert not await anyio.Path(dest).exists()


@pytest.mark.parametrize(
    "body",
    [b"{this is not json", b"", b'{"entries": "nope"}', b'{"entries": [{"url": "data/a.csv"}]}'],
    ids=["not-json", "empty", "entries-not-list", "url-not-s3"],
)
@pytest.mark.asyncio
async def test_malformed_manifest_is_a_manifest_error(
    s3: Any,
    bucket: str,
    objects: dict[str, bytes],
    dest: pathlib.Path,
    make_ingester: MakeIngester,
    body: bytes,
) -> None:
    """A manifest that is not a valid document raises ManifestError naming its key."""
    s3.put_object(Bucket=bucket, Key="data/manifest", Body=body)
    with pytest.raises(ManifestError) as info:
        await make_ingester().fetch_data()
    assert "'data/manifest'" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_manifest_file_name_none_treats_it_as_a_normal_file(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """With manifest_file_name=None the manifest object is fetched like any other file."""
    body = put_manifest(s3, bucket, [entry(bucket, "data/a.csv", 3)])
    await make_ingester(manifest_file_name=None).fetch_data()
    root = dest / "ds"
    assert data_files(root) == ["a.csv", "b.json", "c.csv", "manifest", "sub/d.csv"]
    assert (root / "manifest").read_bytes() == body


@pytest.mark.asyncio
async def test_manifest_file_name_none_ignores_even_a_broken_manifest(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """With manifest_file_name=None a malformed ``manifest`` object is just data."""
    s3.put_object(Bucket=bucket, Key="data/manifest", Body=b"{broken")
    await make_ingester(manifest_file_name=None, file_pattern="manifest").fetch_data()
    assert (dest / "ds" / "manifest").read_bytes() == b"{broken"


@pytest.mark.asyncio
async def test_custom_manifest_file_name(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A custom manifest_file_name is used; an object named ``manifest`` is then plain data."""
    put_manifest(
        s3,
        bucket,
        [entry(bucket, "data/b.json", 4), entry(bucket, "data/manifest")],
        key="data/unload.manifest",
    )
    s3.put_object(Bucket=bucket, Key="data/manifest", Body=b"just data")
    await make_ingester(manifest_file_name="unload.manifest").fetch_data()
    root = dest / "ds"
    assert data_files(root) == ["b.json", "manifest"]
    assert (root / "manifest").read_bytes() == b"just data"


@pytest.mark.asyncio
async def test_no_manifest_object_means_every_object_is_a_candidate(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Without a manifest object under the prefix, all listed objects are candidates."""
    await make_ingester().fetch_data()
    assert data_files(dest / "ds") == ["a.csv", "b.json", "c.csv", "sub/d.csv"]


@pytest.mark.asyncio
async def test_manifest_in_a_subfolder_is_plain_data(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Only ``<prefix folder>/manifest`` is the manifest; ``sub/manifest`` is an ordinary file."""
    s3.put_object(Bucket=bucket, Key="data/sub/manifest", Body=b"{broken")
    await make_ingester().fetch_data()
    assert "sub/manifest" in data_files(dest / "ds")


@pytest.mark.asyncio
async def test_manifest_with_empty_prefix(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """With prefix "" the manifest is the top-level ``manifest`` object."""
    put_manifest(s3, bucket, [entry(bucket, "data/c.csv", 5)], key="manifest")
    await make_ingester("").fetch_data()
    assert data_files(dest / "ds") == ["data/c.csv"]


@pytest.mark.asyncio
async def test_manifest_change_updates_the_dataset(
    s3: Any, bucket: str, objects: dict[str, bytes], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """A rewritten manifest drops the files it no longer lists and adds the new ones."""
    put_manifest(s3, bucket, [entry(bucket, "data/a.csv", 3), entry(bucket, "data/c.csv", 5)])
    ingester = make_ingester()
    await ingester.fetch_data()
    put_manifest(s3, bucket, [entry(bucket, "data/c.csv", 5), entry(bucket, "data/b.json", 4)])
    paths = await ingester.fetch_data()
    root = dest / "ds"
    assert paths == [root / "b.json", root / "c.csv"]
    assert data_files(root) == ["b.json", "c.csv"]


@pytest.mark.asyncio
async def test_unload_manifest_beside_a_name_prefix(
    s3: Any, bucket: str, dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """With prefix ``data/part_``, UNLOAD's ``data/part_manifest`` narrows the selection."""
    put_objects(s3, bucket, {"data/part_000": b"x" * 3, "data/part_001": b"y" * 4})
    put_manifest(s3, bucket, [entry(bucket, "data/part_000", 3)], key="data/part_manifest")
    await make_ingester("data/part_").fetch_data()
    assert data_files(dest / "ds") == ["part_000"]
