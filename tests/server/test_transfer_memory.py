"""Memory: a transfer's peak does not grow with the object's size."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from tests._transfer import KiB, MiB

# The child's own peak RSS. Not ru_maxrss: Linux carries the parent's high-water mark into a
# child across fork/exec, and the parent (with moto's objects in memory) is far bigger.
_MEASURE = textwrap.dedent(
    """
    import asyncio, pathlib, sys
    from aio_s3_ingest import AsyncS3Ingester

    bucket, prefix, dest, endpoint = sys.argv[1:5]
    ingester = AsyncS3Ingester(
        bucket, prefix, dataset_id="m", destination_directory=dest,
        endpoint_url=endpoint, chunk_size=1024 * 1024,
    )
    sys.stdin.readline()  # the object is in place
    asyncio.run(ingester.fetch_data())
    status = pathlib.Path("/proc/self/status").read_text()
    print(status.split("VmHWM:")[1].split()[0])  # kB
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_memory_does_not_grow_with_object_size(
    s3: Any, bucket: str, tmp_path: pathlib.Path, moto_endpoint: str
) -> None:
    """A 64 MiB object peaks at far less extra memory than its size over an 8 MiB one."""
    sizes = {"big/": 64 * MiB, "small/": 8 * MiB}
    children = {  # started first: their imports overlap the uploads
        prefix: subprocess.Popen(
            [sys.executable, "-c", _MEASURE, bucket, prefix, str(tmp_path / prefix), moto_endpoint],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for prefix in sizes
    }
    for prefix, size in sizes.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}blob.bin", Body=b"\x5a" * size)
    for child in children.values():
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    peak_kib = {}
    for prefix, child in children.items():
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        peak_kib[prefix] = int(out.split()[-1])
        assert (tmp_path / prefix / "m" / "blob.bin").stat().st_size == sizes[prefix]
    growth = (peak_kib["big/"] - peak_kib["small/"]) * KiB
    assert growth < 24 * MiB, f"peak RSS grew by {growth / MiB:.1f} MiB for 56 MiB more data"
