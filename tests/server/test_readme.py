"""Every ```python block of README.md runs, as written, against the moto server.

Each block runs in a fresh interpreter (so ``asyncio.run`` has no loop around it) in a
temporary working directory, with ``AWS_ENDPOINT_URL`` pointed at moto. The buckets and
prefixes the blocks name are created and filled first. The only thing supplied is what
the README marks as the reader's own (``metrics``); imports are not, so a block that
forgets one fails. A block that leaves a FastAPI ``app`` has its lifespan started, and
an ``AsyncS3Ingester`` left for the reader to await is awaited.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import subprocess
import sys
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# Runs one block (argv[1]) as __main__, then what the block leaves for its reader to do.
RUNNER = """
import asyncio, runpy, sys, types

class Counter:
    total = 0
    def inc(self, amount=1):
        Counter.total += amount

metrics = types.SimpleNamespace(bytes_in=Counter())  # the README's "your metrics client"
namespace = runpy.run_path(sys.argv[1], init_globals={"metrics": metrics}, run_name="__main__")

from fastapi import FastAPI
from fastapi.testclient import TestClient
from aio_s3_ingest import AsyncS3Ingester

for value in list(namespace.values()):
    if isinstance(value, FastAPI):
        with TestClient(value):
            print("lifespan ran")
    elif isinstance(value, AsyncS3Ingester):
        print("awaited", len(asyncio.run(value.fetch_data())), "paths")
print("metrics.bytes_in", Counter.total)
"""

SAMPLE_FILES = {
    "2026/11/part-000.parquet": b"PAR1" + bytes(300 * 1024),  # over 256 KiB: streamed
    "2026/11/part-000.csv": b"id,value\n1,2\n",
    "summary.csv": b"total\n3\n",
}
SAMPLE_FILES_NAMES = {relpath.rsplit("/", 1)[-1] for relpath in SAMPLE_FILES}


def python_blocks() -> list[tuple[int, str]]:
    """(line number, code) of each ```python block of the README."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(README.read_text().splitlines(), start=1):
        if current is None and line.strip() == "```python":
            current, start = [], number
        elif current is not None and line.strip() == "```":
            blocks.append((start, "\n".join(current) + "\n"))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


BLOCKS = python_blocks()


def datasets_named(code: str) -> set[tuple[str, str]]:
    """The (bucket, prefix) pairs a block passes to an ingester (or to the cluster)."""
    return set(
        re.findall(r'(?:Ingester\(|fetch_on_cluster\(client,)\s*"([^"]+)",\s*"([^"]*)"', code)
    )


@pytest.fixture
def readme_datasets(s3: Any) -> None:
    """Every bucket and prefix the README's blocks name, with a few sample files each."""
    for bucket, prefix in set().union(*(datasets_named(code) for _, code in BLOCKS)):
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        for relpath, body in SAMPLE_FILES.items():
            s3.put_object(Bucket=bucket, Key=prefix + relpath, Body=body)


def run_block(code: str, cwd: pathlib.Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    """Run one block through RUNNER in a fresh interpreter in ``cwd``."""
    block = cwd / "readme_block.py"
    block.write_text(code)
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(block)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint},
        check=False,
    )


def test_the_readme_has_its_python_blocks() -> None:
    """The extraction finds the README's blocks (so the test below cannot pass on none)."""
    assert len(BLOCKS) >= 5
    assert all(datasets_named(code) for _, code in BLOCKS)


@pytest.mark.usefixtures("readme_datasets")
@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"line{line}" for line, _ in BLOCKS])
def test_readme_python_block_runs(
    line: int, code: str, moto_endpoint: str, tmp_path: pathlib.Path
) -> None:
    """The block at README.md:line runs without error, and fetches into its working
    directory; a progress callback it defines is fed."""
    result = run_block(code, tmp_path, moto_endpoint)
    assert result.returncode == 0, f"README.md:{line}\n{code}\n{result.stderr}"
    landed = [path for path in tmp_path.rglob("*") if path.name in SAMPLE_FILES_NAMES]
    assert landed, f"README.md:{line}: nothing was fetched into {tmp_path}"
    if "FastAPI(" in code:
        assert "lifespan ran" in result.stdout
    if "metrics." in code:
        assert "metrics.bytes_in 0\n" not in result.stdout
