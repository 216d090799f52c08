"""The command line, run as a user runs it: a separate process."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

from tests._cli import run_cli
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401


def test_demo_fetches_then_hits_the_cache(tmp_path: pathlib.Path) -> None:
    """`aio-s3-ingest demo` fetches the sample dataset with a bar, then reports a cache hit;
    the files it lists are still there once it has exited, where it says."""
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "cache miss: fetching 14 of 14 file(s)" in out
    assert "  fetched   14 file(s), 36.9 MiB\n  kept      0 file(s)\n" in out
    assert "cache hit: 14 file(s)" in out
    assert "  fetched   0 file(s), 0 B\n  kept      14 file(s)\n" in out
    assert "parquet/full-history.parquet  (25165824 B)" in out
    assert "14/14 files" in result.stderr  # the tqdm bar
    dataset = tmp_path / "aio-s3-ingest-demo" / "sales"
    assert (dataset / "parquet" / "full-history.parquet").stat().st_size == 25165824
    assert f"The dataset stays in {dataset}" in out
    assert f"delete {tmp_path / 'aio-s3-ingest-demo'} to clean up" in out


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
    assert "fetched 1 file(s)" in result.stdout
    assert "1 file(s) in" in result.stdout


def test_json_prints_the_report_as_one_object(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """--json: stdout is exactly one JSON object, the report; no bar, no log lines."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n")
    s3.put_object(Bucket=bucket, Key="data/b/c.csv", Body=b"3,4\n")
    args = (f"s3://{bucket}/data/", str(tmp_path), "--dataset-id", "ds")
    result = run_cli(*args, "--endpoint-url", moto_endpoint, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["fetched"] == ["a.csv", "b/c.csv"]
    assert (report["bytes_fetched"], report["dry_run"], report["failed"]) == (8, False, {})
    assert result.stderr == ""
    again = json.loads(run_cli(*args, "--endpoint-url", moto_endpoint, "--json").stdout)
    assert (again["fetched"], again["kept"]) == ([], ["a.csv", "b/c.csv"])


def test_dry_run_sends_no_get_object_and_writes_nothing(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """--dry-run lists what would be fetched, through a proxy that sees no GetObject, and
    leaves DEST absent; with --json it is the dry-run report."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n")
    s3.put_object(Bucket=bucket, Key="data/b/c.csv", Body=b"3,4\n")
    args = (f"s3://{bucket}/data/", str(tmp_path / "dest"), "--endpoint-url", proxy.url)
    result = run_cli(*args, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "fetch   a.csv\nfetch   b/c.csv\n" in result.stdout
    assert "dry run: would fetch 2 file(s)" in result.stdout
    report = json.loads(run_cli(*args, "--dry-run", "--json").stdout)
    assert (report["dry_run"], report["fetched"]) == (True, ["a.csv", "b/c.csv"])
    assert proxy.data_gets() == []
    assert not (tmp_path / "dest").exists()


def test_a_failed_transfer_exits_1_and_names_the_key(
    proxy: FaultProxy, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """A key that cannot be fetched: exit 1, the key and cause on stderr, no traceback; the
    JSON report still lists what landed and what failed."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n")
    s3.put_object(Bucket=bucket, Key="data/locked.csv", Body=b"secret")
    proxy.respond(403, "AccessDenied", key="data/locked.csv")
    args = (f"s3://{bucket}/data/", str(tmp_path), "--endpoint-url", proxy.url)
    result = run_cli(*args)
    assert result.returncode == 1
    assert "'data/locked.csv'" in result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(run_cli(*args, "--json").stdout)
    assert list(report["failed"]) == ["data/locked.csv"]
    assert report["kept"] == ["a.csv"]


def test_help_shows_examples_and_exit_codes() -> None:
    """--help is something a new user can act on: examples, exit codes, every option."""
    result = run_cli("--help")
    assert result.returncode == 0
    for text in ("examples:", "exit codes:", "--dry-run", "--json", "--pattern GLOB", "demo"):
        assert text in result.stdout


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
    assert "--max-concurrent-files must be at least 1" in result.stderr
    assert run_cli("not-an-s3-url", str(tmp_path)).returncode == 2
    assert run_cli("s3://a bucket/data/", str(tmp_path)).returncode == 2


def test_dry_run_into_a_relative_dest_that_does_not_exist_yet(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """--dry-run with a relative DEST not created yet (the first thing a user tries) says
    what would be fetched and creates nothing."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n")
    source = f"s3://{bucket}/data/"
    result = run_cli(source, "data", "--dry-run", "--endpoint-url", moto_endpoint, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "fetch   a.csv\n" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_delete_unselected_prunes_what_a_narrower_pattern_leaves(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """A narrower --pattern leaves the other fetched files alone; with --delete-unselected
    they are deleted."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n")
    s3.put_object(Bucket=bucket, Key="data/b.parquet", Body=b"PAR1")
    args = (f"s3://{bucket}/data", str(tmp_path), "--dataset-id", "ds")
    common = ("--endpoint-url", moto_endpoint, "-q")
    assert run_cli(*args, *common).returncode == 0
    narrowed = run_cli(*args, *common, "--pattern", "*.csv", "--json")
    assert json.loads(narrowed.stdout)["unselected"] == ["b.parquet"]
    assert (tmp_path / "ds" / "b.parquet").exists()
    pruned = run_cli(*args, *common, "--pattern", "*.csv", "--delete-unselected", "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["deleted"] == ["b.parquet"]
    assert not (tmp_path / "ds" / "b.parquet").exists()
    assert (tmp_path / "ds" / "a.csv").read_bytes() == b"1,2\n"


def test_archived_objects_are_listed_by_a_dry_run_and_fail_a_run(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """--dry-run shows a GLACIER object as one that would fail; the run fetches the rest,
    names the key and its class on stderr, and exits 1."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n")
    s3.put_object(Bucket=bucket, Key="data/old.csv", Body=b"cold", StorageClass="GLACIER")
    args = (f"s3://{bucket}/data/", str(tmp_path), "--dataset-id", "ds")
    planned = run_cli(*args, "--endpoint-url", moto_endpoint, "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "fetch   a.csv\n" in planned.stdout
    assert "fail    data/old.csv: ObjectArchivedError: " in planned.stdout
    result = run_cli(*args, "--endpoint-url", moto_endpoint, "-q")
    assert result.returncode == 1
    assert "'data/old.csv'" in result.stderr
    assert "storage class GLACIER" in result.stderr
    assert "restore it first" in result.stderr
    assert (tmp_path / "ds" / "a.csv").read_bytes() == b"1,2\n"


def test_verify_local_and_verify_reach_the_run(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """--verify-local refetches a file edited in place (size and mtime kept); --verify off
    verifies nothing, and the JSON report says how many files were verified by what."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n")
    args = (f"s3://{bucket}/data/", str(tmp_path), "--dataset-id", "ds", "--json")
    first = json.loads(run_cli(*args, "--endpoint-url", moto_endpoint).stdout)
    assert (first["verified"], first["unverified"]) == ({"CRC32": 1}, 0)
    path = tmp_path / "ds" / "a.csv"
    stat = path.stat()
    path.write_bytes(b"9,2\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    kept = json.loads(run_cli(*args, "--endpoint-url", moto_endpoint).stdout)
    assert kept["kept"] == ["a.csv"]
    again = run_cli(*args, "--endpoint-url", moto_endpoint, "--verify-local", "--verify", "off")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["fetched"], report["verified"], report["unverified"]) == (["a.csv"], {}, 1)
    assert path.read_bytes() == b"1,2\n"
