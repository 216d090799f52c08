"""Unsafe keys against a real endpoint: refused before any write; symlinks are not followed."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from aio_s3_ingest import IngestFailed, UnsafeKeyError
from tests._helpers import STATE_DIR, MakeIngester, data_files
from tests._listing import put


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
