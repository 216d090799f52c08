"""The command line: ``aio-s3-ingest s3://bucket/prefix DEST`` and ``aio-s3-ingest demo``.

The only module that prints or configures logging.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from typing import TextIO

import anyio

from ._ingest import AsyncS3Ingester
from ._report import IngestReport, human_bytes
from .errors import ConfigError, IngestError, IngestFailed

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aio-s3-ingest`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["demo"]:
        return _run_demo(args[1:])
    return _run_fetch(args)


_EPILOG = """\
examples:
  aio-s3-ingest s3://my-bucket/exports/sales/ ./data --pattern '*.parquet'
  aio-s3-ingest s3://my-bucket/exports/sales/ ./data --dry-run
  aio-s3-ingest s3://my-bucket/exports/sales/ ./data --json > report.json
  aio-s3-ingest demo            # try it against a local S3 server

exit codes: 0 done, 1 the run failed (failed keys listed), 2 bad usage.
Credentials come from the usual AWS sources (environment, ~/.aws, instance role).
"""


def _fetch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aio-s3-ingest",
        description="Fetch the objects under an S3 prefix into DEST/DATASET_ID and keep them "
        "in sync: unchanged files are not fetched again, changed ones are, removed ones are "
        "deleted locally.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("source", metavar="s3://BUCKET/PREFIX", help="where the dataset is")
    add("dest", metavar="DEST", help="destination directory; files land in DEST/DATASET_ID")
    add(
        "--pattern",
        action="append",
        metavar="GLOB",
        help="fnmatch pattern on the key relative to the prefix; repeatable (default: '*')",
    )
    add(
        "--dataset-id",
        metavar="ID",
        help="folder name under DEST (default: derived from bucket, prefix and region)",
    )
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
        type=int,
        default=1,
        metavar="N",
        help="processes that download (default 1; 2 or more when one core is the limit)",
    )
    _add_run_options(parser)
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    manifest = parser.add_mutually_exclusive_group()
    manifest.add_argument(
        "--manifest-file-name",
        default="manifest",
        metavar="NAME",
        help="S3 manifest at PREFIX+NAME narrows the files (default "
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
    add("--region", default="eu-west-1", help="AWS region (default eu-west-1)")
    add("--endpoint-url", metavar="URL", help="S3-compatible endpoint, e.g. http://localhost:9000")
    add("--anonymous", action="store_true", help="unsigned requests, for public buckets")
    add("--force", action="store_true", help="fetch every file again")
    add(
        "--dry-run",
        action="store_true",
        help="say what would be fetched and deleted; no GetObject, nothing written",
    )
    add("--json", action="store_true", help="print the report as one JSON object on stdout")
    add("-v", "--verbose", action="store_true", help="debug logs, tracebacks on errors")
    add("-q", "--quiet", action="store_true", help="errors only, no progress bar")


def _run_fetch(argv: list[str]) -> int:
    args = _fetch_parser().parse_args(argv)
    _configure_logging(args.verbose, args.quiet or args.json)
    bucket, _, prefix = args.source.removeprefix("s3://").partition("/")
    if not args.source.startswith("s3://") or not bucket:
        print(f"aio-s3-ingest: error: {args.source!r} is not s3://BUCKET/PREFIX", file=sys.stderr)
        return EXIT_USAGE
    try:
        ingester = _ingester(args, bucket, prefix)
        run = ingester.plan if args.dry_run else ingester.sync
        report = anyio.run(run, args.force, backend="asyncio")
    except IngestFailed as exc:
        if args.json and exc.report is not None:
            print(json.dumps(exc.report.to_dict()))
        return _report_error(exc, verbose=args.verbose)
    except IngestError as exc:
        return _report_error(exc, verbose=args.verbose)
    if args.json:
        print(json.dumps(report.to_dict()))
    elif not args.quiet:
        _print_report(report)
    return EXIT_OK


def _ingester(args: argparse.Namespace, bucket: str, prefix: str) -> AsyncS3Ingester:
    return AsyncS3Ingester(
        bucket,
        prefix,
        file_pattern=args.pattern or "*",
        dataset_id=args.dataset_id,
        destination_directory=args.dest,
        aws_profile_name=args.profile,
        aws_region_name=args.region,
        max_concurrent_files=args.max_concurrent_files,
        workers_per_file=args.workers_per_file,
        processes=args.processes,
        manifest_file_name=None if args.no_manifest else args.manifest_file_name,
        s3_timestamp_tolerance=args.timestamp_tolerance,
        endpoint_url=args.endpoint_url,
        anonymous=args.anonymous,
        progress=False if args.quiet or args.json else None,
    )


def _print_report(report: IngestReport) -> None:
    if report.dry_run:
        for relpath in report.fetched:
            print(f"fetch   {relpath}")
        for relpath in report.deleted:
            print(f"delete  {relpath}")
    print(report.summary())
    print(f"{len(report.paths)} file(s) in {report.dataset_directory}")


def _print_table(report: IngestReport) -> None:
    rate = human_bytes(int(report.throughput))
    print(f"  fetched   {len(report.fetched)} file(s), {human_bytes(report.bytes_fetched)}")
    print(f"  kept      {len(report.kept)} file(s)")
    print(f"  deleted   {len(report.deleted)} file(s)")
    print(f"  took      {report.seconds:.2f} s ({rate}/s)")
    print(f"  requests  {report.requests} ({report.retries} retried, {report.throttled} throttled)")


def _run_demo(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="aio-s3-ingest demo",
        description="Start a local moto S3 server, upload a sample dataset, fetch it, "
        "then fetch it again to show the cache hit. Needs the 'demo' extra.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, quiet=False, stream=sys.stdout)
    try:
        import boto3  # type: ignore[import-untyped]  # noqa: F401
        import moto  # noqa: F401
    except ImportError as exc:
        print(f"the demo needs moto ({exc}): pip install 'aio-s3-ingest[demo]'", file=sys.stderr)
        return EXIT_USAGE
    _demo_session()
    return EXIT_OK


def _demo_session() -> None:
    from . import _demo

    _demo.demo_credentials()
    objects = _demo.sample_objects()
    with _demo.local_s3() as endpoint, tempfile.TemporaryDirectory() as dest:
        print(f"local S3 at {endpoint}: uploading {len(objects)} objects and a manifest")
        _demo.upload(endpoint, objects)
        ingester = AsyncS3Ingester(
            _demo.BUCKET,
            _demo.PREFIX,
            destination_directory=dest,
            dataset_id="sales",
            workers_per_file=4,
            endpoint_url=endpoint,
            progress=True,
        )
        for label in ("first fetch", "second fetch (nothing changed)"):
            print(f"\n{label}:")
            report = anyio.run(ingester.sync, backend="asyncio")
            sys.stderr.flush()
            _print_table(report)
        print(f"\nfiles, relative to {ingester.dataset_directory}:")
        for path in report.paths:
            print(f"  {path.relative_to(ingester.dataset_directory)}  ({path.stat().st_size} B)")


def _configure_logging(verbose: bool, quiet: bool, stream: TextIO | None = None) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=stream
    )
    logging.getLogger("aio_s3_ingest").setLevel(level)


def _report_error(exc: IngestError, *, verbose: bool) -> int:
    if verbose:
        logging.getLogger("aio_s3_ingest").exception("failed")
    print(f"aio-s3-ingest: error: {exc}", file=sys.stderr)
    return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED
