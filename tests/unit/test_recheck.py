"""Kept files re-hashed against their recorded checksums (verify_local)."""

from __future__ import annotations

import base64
import datetime as dt
import pathlib
import zlib

import pytest

from aio_s3_ingest._local.recheck import recheck_kept
from aio_s3_ingest._models import FileRecord, ObjectInfo, Plan, WantedFile


def _kept(
    tmp_path: pathlib.Path, files: dict[str, tuple[bytes, str | None]]
) -> tuple[Plan, dict[str, FileRecord]]:
    """Files on disk, each recorded with the given checksum text, all in the plan's keep."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    kept, records = [], {}
    for name, (data, checksum) in files.items():
        (tmp_path / name).write_bytes(data)
        obj = ObjectInfo(key=f"data/{name}", size=len(data), etag='"e"', last_modified=when)
        kept.append(WantedFile(name, obj))
        records[name] = FileRecord(obj.key, len(data), '"e"', when.isoformat(), 0, checksum)
    return Plan(to_fetch=(), to_keep=tuple(kept), to_delete=()), records


def _crc32(data: bytes) -> str:
    return "CRC32:" + base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.asyncio
async def test_only_files_whose_bytes_no_longer_match_move_to_fetch(tmp_path: pathlib.Path) -> None:
    """A file whose bytes changed moves to fetch; a matching one, one recorded without a
    checksum, one with a composite checksum and one whose checksum text is not understood
    stay kept."""
    plan, records = _kept(
        tmp_path,
        {
            "same": (b"abc", _crc32(b"abc")),
            "edited": (b"abd", _crc32(b"abc")),
            "none": (b"x", None),
            "composite": (b"y", "SHA256:AAAA-2"),
            "future": (b"z", "BLAKE9:AAAA"),
        },
    )
    checked = await recheck_kept(tmp_path, plan, records)
    assert [item.relpath for item in checked.to_fetch] == ["edited"]
    assert sorted(item.relpath for item in checked.to_keep) == [
        "composite",
        "future",
        "none",
        "same",
    ]


@pytest.mark.asyncio
async def test_a_kept_file_that_cannot_be_read_is_fetched_again(tmp_path: pathlib.Path) -> None:
    plan, records = _kept(tmp_path, {"gone": (b"abc", _crc32(b"abc"))})
    (tmp_path / "gone").unlink()
    checked = await recheck_kept(tmp_path, plan, records)
    assert [item.relpath for item in checked.to_fetch] == ["gone"]
