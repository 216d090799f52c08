"""The command line, run as a user runs it: a separate process."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aio_s3_ingest", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_demo_fetches_then_hits_the_cache() -> None:
    """`aio-s3-ingest demo` fetches the sample dataset, then reports a cache hit."""
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "cache miss: fetching 14 of 14 file(s)" in out
    assert "first fetch: 14/14 files" in out
    assert "cache hit: 14 file(s)" in out
    assert "parquet/full-history.parquet  (25165824 B)" in out


def test_fetch_command(moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path) -> None:
    """The fetch command lands the files under DEST/DATASET_ID and exits 0."""
    s3.put_object(Bucket=bucket, Key="data/sub/a.csv", Body=b"1,2\n")
    result = run_cli(
        f"s3://{bucket}/data/",
        str(tmp_path),
        "--dataset-id",
        "ds",
        "--endpoint-url",
        moto_endpoint,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ds" / "sub" / "a.csv").read_bytes() == b"1,2\n"
    assert "1 file(s) in" in result.stdout


def test_no_match_exits_1_with_one_line(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """A run that cannot succeed exits 1 with a one-line message and no traceback."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"x")
    source = f"s3://{bucket}/data/"
    result = run_cli(source, str(tmp_path), "--pattern", "*.json", "--endpoint-url", moto_endpoint)
    assert result.returncode == 1
    assert "no object under" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_usage_exits_2(tmp_path: pathlib.Path) -> None:
    """Arguments the library refuses are a usage error: exit 2, the problem named."""
    result = run_cli("s3://bucket/data/", str(tmp_path), "--max-concurrent-files", "0")
    assert result.returncode == 2
    assert "max_concurrent_files must be at least 1" in result.stderr
    assert run_cli("not-an-s3-url", str(tmp_path)).returncode == 2


def test_ci_runs_the_readme_test_command() -> None:
    """`.ci/run` runs the test command exactly as the README gives it to users."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in readme.splitlines() if line.endswith("nox -s tests")]
    assert len(commands) == 1
    assert commands[0] in ci.splitlines()
