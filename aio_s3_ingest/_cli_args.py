"""The command line's arguments, and the flag that stands for each ingester keyword."""

from __future__ import annotations

import argparse

from ._config.config import VERIFY_CHOICES

# The flag (or argument) of this command line for each keyword argument of the ingester,
# so that an error naming a keyword argument names what a command-line user typed.
FLAGS = {
    "s3_bucket_name": "s3://BUCKET/PREFIX",
    "s3_key_prefix": "s3://BUCKET/PREFIX",
    "file_pattern": "--pattern",
    "dataset_id": "--dataset-id",
    "destination_directory": "DEST",
    "aws_profile_name": "--profile",
    "aws_region_name": "--region",
    "max_concurrent_files": "--max-concurrent-files",
    "workers_per_file": "--workers-per-file",
    "manifest_file_name": "--manifest-file-name",
    "s3_timestamp_tolerance": "--timestamp-tolerance",
    "endpoint_url": "--endpoint-url",
    "anonymous": "--anonymous",
    "processes": "--processes",
    "prune_unselected": "--delete-unselected",
    "verify": "--verify",
    "shard": "--shard",
}

_DESCRIPTION = """\
Fetch the objects under an S3 prefix into DEST/DATASET_ID/ and keep them in sync:
unchanged files are not fetched again, changed ones are, removed ones are deleted locally.

DATASET_ID is --dataset-id, or else a hash of bucket, prefix and region (a folder such as
DEST/b632eeb227e3f22b1e6917a424531420/): pass --dataset-id to choose a name you will
recognise. To clean up, delete DEST/DATASET_ID; its .aio-s3-ingest/ folder holds the sync
state (what was fetched, a lock, temp files of a run in progress).
"""

_EPILOG = """\
examples:
  aio-s3-ingest s3://my-bucket/exports/sales/ ./data --dataset-id sales --pattern '*.parquet'
  aio-s3-ingest s3://my-bucket/exports/sales/ ./data --dataset-id sales --dry-run
  aio-s3-ingest s3://my-bucket/exports/sales/ ./data --dataset-id sales --json > report.json
  aio-s3-ingest demo            # try it against a local S3 server

exit codes: 0 done, 1 the run failed (failed keys listed), 2 bad usage.
Credentials come from the usual AWS sources (environment, ~/.aws, instance role); the
endpoint from --endpoint-url, else AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS.
The region is --region alone (default eu-west-1): AWS_REGION, AWS_DEFAULT_REGION and the
profile's region are not read. A bucket in another region still works (S3 redirects), but
the default DATASET_ID is derived from the region given.
"""


def fetch_parser() -> argparse.ArgumentParser:
    """``aio-s3-ingest s3://BUCKET/PREFIX DEST [options]``."""
    parser = argparse.ArgumentParser(
        prog="aio-s3-ingest",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("source", metavar="s3://BUCKET/PREFIX", help="where the dataset is")
    add("dest", metavar="DEST", help="destination directory; files land in DEST/DATASET_ID/")
    add(
        "--pattern",
        action="append",
        metavar="GLOB",
        help="fnmatch pattern on the key relative to the prefix; repeatable (default: '*')",
    )
    add(
        "--dataset-id",
        metavar="ID",
        help="folder name under DEST (default: a hash of bucket, prefix and region)",
    )
    _add_transfer_options(parser)
    _add_source_options(parser)
    _add_run_options(parser)
    return parser


def _add_transfer_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--max-concurrent-files", type=int, default=64, metavar="N", help="default 64")
    add(
        "--workers-per-file",
        type=int,
        default=1,
        metavar="N",
        help="ranged GETs per large file (default 1; 8-16 pays on real S3)",
    )
    add(
        "--processes",
        type=_count_or_auto,
        default=1,
        metavar="N",
        help="processes that download (default 1; 2 or more when one core is the limit; "
        "auto: as many as pay for their start)",
    )
    add(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="fetch only share I of N (0 <= I < N), split by a hash of each key: N workers "
        "with the same arguments fetch the dataset between them",
    )
    add(
        "--verify",
        choices=VERIFY_CHOICES,
        default="auto",
        help="check each file against S3's checksum: auto (default: where S3 has one), "
        "etag (also the MD5 a single-part object's ETag is, where S3 has no checksum), "
        "require (a file without a checksum fails), or off",
    )


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    manifest = parser.add_mutually_exclusive_group()
    manifest.add_argument(
        "--manifest-file-name",
        default="manifest",
        metavar="NAME",
        help="S3 manifest at PREFIX+NAME (or PREFIX/NAME) narrows the files (default "
        "'manifest'; used only where it exists)",
    )
    manifest.add_argument("--no-manifest", action="store_true", help="ignore any S3 manifest")
    add(
        "--timestamp-tolerance",
        type=float,
        default=-1,
        metavar="HOURS",
        help="fail if LastModified times spread wider than this (default: no check)",
    )
    add("--profile", help="AWS profile name")
    add(
        "--region",
        default="eu-west-1",
        help="region of the bucket (default eu-west-1, whatever AWS_REGION or the profile say)",
    )
    add(
        "--endpoint-url",
        metavar="URL",
        help="S3-compatible endpoint, e.g. http://localhost:9000 (default: AWS_ENDPOINT_URL_S3 "
        "or AWS_ENDPOINT_URL, else AWS)",
    )
    add("--anonymous", action="store_true", help="unsigned requests, for public buckets")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--force", action="store_true", help="fetch every file again")
    add(
        "--verify-local",
        action="store_true",
        help="re-hash the files that would be kept against their recorded checksums, and "
        "fetch again those that no longer match",
    )
    add(
        "--delete-unselected",
        action="store_true",
        help="also delete files an earlier run fetched that --pattern no longer selects "
        "(by default they are left alone)",
    )
    add(
        "--dry-run",
        action="store_true",
        help="say what would be fetched and deleted; no GetObject, nothing written",
    )
    add("--json", action="store_true", help="print the report as one JSON object on stdout")
    add("-v", "--verbose", action="store_true", help="debug logs (one line per file), tracebacks")
    add("-q", "--quiet", action="store_true", help="errors only, no progress bar")


def demo_parser() -> argparse.ArgumentParser:
    """``aio-s3-ingest demo [-v]``."""
    parser = argparse.ArgumentParser(
        prog="aio-s3-ingest demo",
        description="Start a local moto S3 server, upload a sample dataset, fetch it into "
        "./aio-s3-ingest-demo/, then fetch it again to show the cache hit. Needs the 'demo' "
        "extra.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    return parser


def _count_or_auto(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or auto, not {text!r}") from None


def _shard(text: str) -> tuple[int, int]:
    index, sep, count = text.partition("/")
    try:
        if sep:
            return int(index), int(count)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"I/N such as 0/4, not {text!r}")
