"""What the command line says: flags rather than Python names, one summary, per-file
detail with -v, where the files land, and which region counts."""

from __future__ import annotations

import hashlib
import inspect
import pathlib
import re
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester
from aio_s3_ingest._cli_args import FLAGS
from tests._cli import run_cli

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.mark.parametrize(
    ("flag", "value", "keyword", "named"),
    [
        ("--workers-per-file", "0", "workers_per_file", "--workers-per-file must be at least 1"),
        ("--processes", "0", "processes", "--processes must be at least 1, got 0"),
        ("--processes", "all", "processes", "argument --processes: a number or auto, not 'all'"),
        ("--timestamp-tolerance", "-2", "s3_timestamp_tolerance", "--timestamp-tolerance must"),
        ("--dataset-id", "..", "dataset_id", "--dataset-id '..' must be a single folder name"),
        ("--endpoint-url", "ftp://x", "endpoint_url", "--endpoint-url must be an http(s) URL"),
        ("--pattern", "", "file_pattern", "--pattern entries must be non-empty strings"),
    ],
)
def test_usage_errors_name_the_flag(
    tmp_path: pathlib.Path, flag: str, value: str, keyword: str, named: str
) -> None:
    """A value the library refuses is reported under its flag, not its keyword argument."""
    result = run_cli("s3://bucket/data/", str(tmp_path), flag, value)
    assert result.returncode == 2
    assert f"aio-s3-ingest: error: {named}" in result.stderr
    assert not re.search(rf"(?<![\w-]){keyword}(?![\w-])", result.stderr)


def test_every_flag_stands_for_a_keyword_argument() -> None:
    """The mapping from keyword arguments to flags names only real keyword arguments and
    real flags, so a message can never be rewritten into a flag that does not exist."""
    keywords = set(inspect.signature(AsyncS3Ingester).parameters)
    assert set(FLAGS) <= keywords
    helptext = run_cli("--help").stdout
    assert all(flag in helptext for flag in FLAGS.values())


def test_missing_credentials_suggest_flags(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """With no credentials, the CLI suggests --profile and --anonymous, not the keyword
    arguments aws_profile_name and anonymous=True."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1")
    args = (f"s3://{bucket}/data/", str(tmp_path), "--endpoint-url", moto_endpoint)
    result = run_cli(*args, unset=CREDENTIAL_VARIABLES)
    assert result.returncode == 1
    assert "no AWS credentials found" in result.stderr
    assert "configure a profile (--profile), or pass --anonymous for a public" in result.stderr
    assert "aws_profile_name" not in result.stderr
    assert "anonymous=True" not in result.stderr


@pytest.mark.parametrize("variable", [None, "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_unreachable_endpoint_says_where_it_came_from(
    closed_port: int, tmp_path: pathlib.Path, variable: str | None
) -> None:
    """An endpoint nothing listens on: exit 1, naming the endpoint and the flag or the
    environment variable that set it."""
    url = f"http://127.0.0.1:{closed_port}"
    args = ["s3://bucket/data/", str(tmp_path)]
    env = {variable: url} if variable else {}
    if variable is None:
        args += ["--endpoint-url", url]
    result = run_cli(*args, env=env)
    assert result.returncode == 1
    assert "cannot reach the S3 endpoint for s3://bucket/data/" in result.stderr
    assert f"the endpoint {url} comes from {variable or '--endpoint-url'}" in result.stderr
    assert "endpoint_url" not in result.stderr
    assert "Traceback" not in result.stderr


def test_summary_is_printed_once(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """The run's summary is on stdout once, not repeated as a log line on stderr; the
    cache verdict is still logged."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n")
    args = (f"s3://{bucket}/data/", str(tmp_path), "--dataset-id", "ds")
    result = run_cli(*args, "--endpoint-url", moto_endpoint)
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count("fetched 1 file(s), 4 B in") == 1
    assert "fetched 1 file(s), 4 B in" in result.stdout
    assert "cache miss: fetching 1 of 1 file(s)" in result.stderr


def test_verbose_shows_a_line_per_file(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """-v logs each file fetched, kept and deleted, at DEBUG."""
    for name in ("kept.csv", "changed.csv", "gone.csv"):
        s3.put_object(Bucket=bucket, Key=f"data/{name}", Body=b"first")
    args = (f"s3://{bucket}/data/", str(tmp_path), "--dataset-id", "ds")
    assert run_cli(*args, "--endpoint-url", moto_endpoint).returncode == 0
    s3.put_object(Bucket=bucket, Key="data/changed.csv", Body=b"second!")
    s3.delete_object(Bucket=bucket, Key="data/gone.csv")

    result = run_cli(*args, "--endpoint-url", moto_endpoint, "-v")

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    for line in (
        "DEBUG aio_s3_ingest: fetching 'data/changed.csv' (7 bytes)",
        "DEBUG aio_s3_ingest: fetched 'data/changed.csv' into changed.csv",
        "DEBUG aio_s3_ingest: kept kept.csv: unchanged in S3 and on disk",
        "DEBUG aio_s3_ingest: deleted gone.csv: its object left S3, or the selection",
    ):
        assert line in lines
    assert "kept.csv" not in run_cli(*args, "--endpoint-url", moto_endpoint).stderr


def test_help_says_where_files_land_and_which_region_counts() -> None:
    """--help explains DEST/DATASET_ID (a hash unless --dataset-id), how to clean up, and
    that the region is --region alone."""
    text = " ".join(run_cli("--help").stdout.split())
    for phrase in (
        "into DEST/DATASET_ID/",
        "DATASET_ID is --dataset-id, or else a hash of bucket, prefix and region",
        "pass --dataset-id to choose a name",
        "To clean up, delete DEST/DATASET_ID",
        "AWS_REGION, AWS_DEFAULT_REGION and the profile's region are not read",
        "A bucket in another region still works",
    ):
        assert phrase in text


def test_default_dataset_id_hashes_the_region_given(
    moto_endpoint: str, s3: Any, bucket: str, tmp_path: pathlib.Path
) -> None:
    """Without --dataset-id the files land in DEST/<md5 of bucket, prefix and eu-west-1>/,
    whatever AWS_REGION and AWS_DEFAULT_REGION say, and the output names that folder."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"1")
    env = {"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "ap-south-1"}
    source = f"s3://{bucket}/data/"
    result = run_cli(source, str(tmp_path), "--endpoint-url", moto_endpoint, env=env)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / hashlib.md5(f"{bucket}data/eu-west-1".encode()).hexdigest()
    assert (folder / "a.csv").read_bytes() == b"1"
    assert f"1 file(s) in {folder}" in result.stdout
