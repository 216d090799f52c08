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

ROOT = pathlib.Path(__file__).resolve().parent.parent
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
    """The (bucket, prefix) pairs a block passes to an ingester."""
    return set(re.findall(r'Ingester\(\s*"([^"]+)",\s*"([^"]*)"', code))


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


def test_readme_nox_commands_use_the_venv() -> None:
    """Every nox command README.md gives runs the nox of the set-up commands' venv."""
    text = README.read_text()
    commands = re.findall(r"[\w./]*nox -s [\w -]+", text)
    assert commands
    assert all(command.startswith(".venv/bin/nox -s") for command in commands), commands


def test_one_endpoint_variable_throughout() -> None:
    """The README and the examples name AWS_ENDPOINT_URL, the variable the library reads;
    none names another (such as S3_ENDPOINT_URL)."""
    files = [README, *sorted((ROOT / "examples").iterdir())]
    texts = {path.name: path.read_text() for path in files if path.suffix in (".md", ".py")}
    for name, text in texts.items():
        variables = set(re.findall(r"\b[A-Z0-9_]*ENDPOINT_URL[A-Z0-9_]*\b", text))
        assert variables <= {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"}, name
    assert all("AWS_ENDPOINT_URL" in texts[name] for name in ("fastapi_app.py", "README.md"))


def test_readme_leaves_benchmark_figures_to_the_benchmarks() -> None:
    """README.md's user sections carry no benchmark diary: no CPU or millisecond timings,
    no per-run wall times (they are in benchmarks/README.md)."""
    text = README.read_text()
    for pattern in (r"\d ms\b", r"s of CPU", r"\b872\b", r"\d\.\d\d s or \d"):
        assert not re.search(pattern, text), pattern
    moved = (ROOT / "benchmarks" / "README.md").read_text()
    assert "8.6 ms per page" in moved
    assert "0.92 s and\n  0.93 s of CPU" in moved
