"""A full disk: a clear error naming the file and the space it needs; nothing else harmed."""

from __future__ import annotations

import os
import pathlib
import subprocess
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from aio_s3_ingest import IngestFailed
from aio_s3_ingest._local.manifest import LocalManifest
from tests._helpers import STATE_DIR, MakeIngester, data_files

KiB, MiB = 1024, 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    """A 2 MiB tmpfs (needs root, as in CI)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_disk_full_fails_that_file_only(
    s3: Any, bucket: str, small_disk: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """The object that does not fit fails with ENOSPC explained; the others land and are
    recorded; no temp file and no partial file remain."""
    small = {f"data/s{i}.csv": os.urandom(50 * KiB) for i in range(8)}
    for key, body in {**small, "data/huge.bin": os.urandom(3 * MiB)}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    ingester = make_ingester(destination_directory=small_disk, max_concurrent_files=1)
    with pytest.raises(IngestFailed) as info:
        anyio.run(ingester.fetch_data)

    assert list(info.value.failures) == ["data/huge.bin"]
    message = str(info.value)
    assert "no space left on the device" in message
    assert "huge.bin" in message
    assert f"needs {3 * MiB} bytes" in message
    dataset = small_disk / "ds"
    assert data_files(dataset) == sorted(k.removeprefix("data/") for k in small)
    assert list((dataset / STATE_DIR / "tmp").iterdir()) == []
    assert (dataset / STATE_DIR / "manifest.sqlite").is_file()  # saved after the failure
    records = LocalManifest(dataset / STATE_DIR).load()
    assert sorted(records) == sorted(k.removeprefix("data/") for k in small)
