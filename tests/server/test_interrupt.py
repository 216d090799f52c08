"""Ctrl-C in a script or a notebook: the run stops, and leaves only complete files."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import anyio
import pytest

from tests._helpers import STATE_DIR, MakeIngester, data_files
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401

FAST = {"data/fast.csv": b"a,b\n" * 100}
SLOW = {f"data/slow/{i}.bin": os.urandom(2 * 1024 * 1024 + i) for i in range(3)}

# The child runs the sync wrapper; "notebook" mode calls it from inside a running loop,
# as a Jupyter cell does (the loop there installs no SIGINT handler either).
_CHILD = textwrap.dedent(
    """
    import asyncio, signal, sys
    from aio_s3_ingest import S3Ingester

    # As in a terminal: a background job (a CI runner) may start us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    bucket, dest, endpoint, mode = sys.argv[1:]
    ingester = S3Ingester(bucket, "data/", dataset_id="ds", destination_directory=dest,
                          endpoint_url=endpoint, max_attempts=1)

    async def cell():
        return ingester.fetch_data()

    if mode == "notebook":
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(cell())
        finally:
            loop.close()
    else:
        ingester.fetch_data()
    """
)


def _wait_for(condition: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _start_child(
    bucket: str, dest: pathlib.Path, proxy: FaultProxy, mode: str
) -> subprocess.Popen[str]:
    """The child process of ``_CHILD`` in ``mode``, fetching through the proxy."""
    child_args = [bucket, str(dest), proxy.url, mode]
    return subprocess.Popen(
        # Unclosed sockets and files warn when collected; unclosed aiohttp sessions are
        # reported by asyncio's logger. Both would land on stderr.
        [sys.executable, "-W", "always::ResourceWarning", "-c", _CHILD, *child_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _interrupt_mid_transfer(
    child: subprocess.Popen[str], dataset: pathlib.Path, proxy: FaultProxy
) -> tuple[float, str]:
    """Once fast.csv is in place and every slow body is past 256 KiB, SIGINT the child and
    wait for it to end (it is killed if it does not); when the signal went, and its stderr."""
    try:
        _wait_for(
            lambda: (
                child.poll() is not None
                or (
                    (dataset / "fast.csv").exists()
                    and all(proxy.bytes_served(key) >= 256 * 1024 for key in SLOW)
                )
            )
        )
        assert child.poll() is None, child.communicate()
        started = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return started, stderr


def _assert_only_complete_files(
    child: subprocess.Popen[str], stderr: str, dataset: pathlib.Path
) -> None:
    """The child ended by KeyboardInterrupt, leaked nothing, and left no temp file and no
    file but the finished fast.csv."""
    assert child.returncode != 0
    assert "KeyboardInterrupt" in stderr
    assert "ResourceWarning" not in stderr, stderr
    assert "Unclosed" not in stderr, stderr
    assert list((dataset / STATE_DIR / "tmp").iterdir()) == []
    assert data_files(dataset) == ["fast.csv"]
    assert (dataset / "fast.csv").read_bytes() == FAST["data/fast.csv"]


def _assert_a_rerun_fetches_the_rest(
    dataset: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """A rerun with no fault GETs only the slow objects, and each lands whole."""
    proxy.clear_rules()
    proxy.reset_stats()
    ingester = make_ingester(endpoint_url=proxy.url)
    anyio.run(ingester.fetch_data)
    assert sorted(x.key for x in proxy.data_gets()) == sorted(SLOW)
    for key, body in SLOW.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body


@pytest.mark.parametrize("mode", ["script", "notebook"])
def test_ctrl_c_leaves_only_complete_files_and_a_rerun_fetches_the_rest(
    mode: str,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
) -> None:
    """SIGINT mid-transfer ends the run with KeyboardInterrupt, removes every temp file,
    leaves no partial file, and a rerun fetches only the files that were not finished."""
    for key, body in {**FAST, **SLOW}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    proxy.stall_after(256 * 1024, 30.0, key="data/slow/")
    child = _start_child(bucket, dest, proxy, mode)
    dataset = dest / "ds"
    started, stderr = _interrupt_mid_transfer(child, dataset, proxy)
    assert time.monotonic() - started < 15, "the stalled reads were not cut by the interrupt"
    _assert_only_complete_files(child, stderr, dataset)
    _assert_a_rerun_fetches_the_rest(dataset, proxy, make_ingester)
