"""The command line: ``aio-s3-ingest s3://bucket/prefix DEST`` and ``aio-s3-ingest demo``.

The only module that prints or configures logging.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import re
import sys
from collections.abc import Sequence
from typing import TextIO

import anyio

from ._cli_args import FLAGS, demo_parser, fetch_parser
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


def _run_fetch(argv: list[str]) -> int:
    args = fetch_parser().parse_args(argv)
    prints_report = not (args.quiet or args.json)
    _configure_logging(args.verbose, not prints_report, drop_summary=not args.verbose)
    bucket, _, prefix = args.source.removeprefix("s3://").partition("/")
    if not args.source.startswith("s3://") or not bucket or _has_space(bucket):
        print(f"aio-s3-ingest: error: {args.source!r} is not s3://BUCKET/PREFIX", file=sys.stderr)
        return EXIT_USAGE
    try:
        ingester = _ingester(args, bucket, prefix)
        run = ingester.plan if args.dry_run else ingester.sync
        call = functools.partial(run, args.force, verify_local=args.verify_local)
        report = anyio.run(call, backend="asyncio")
    except IngestFailed as exc:
        if args.json and exc.report is not None:
            print(json.dumps(exc.report.to_dict()))
        return _report_error(exc, verbose=args.verbose)
    except IngestError as exc:
        return _report_error(exc, verbose=args.verbose)
    if args.json:
        print(json.dumps(report.to_dict()))
    elif prints_report:
        _print_report(report)
    return EXIT_OK


def _has_space(text: str) -> bool:
    return any(char.isspace() for char in text)


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
        prune_unselected=args.delete_unselected,
        verify=args.verify,
        shard=args.shard,
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
        for key, why in report.failed.items():
            print(f"fail    {key}: {why}")
    for key, why in report.skipped.items():
        print(f"skip    {key}: {why}")
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
    args = demo_parser().parse_args(argv)
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
    with _demo.local_s3() as endpoint:
        print(f"local S3 at {endpoint}: uploading {len(objects)} objects and a manifest")
        _demo.upload(endpoint, objects)
        ingester = AsyncS3Ingester(
            _demo.BUCKET,
            _demo.PREFIX,
            destination_directory=_demo.DESTINATION,
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
    where = ingester.dataset_directory
    print(f"\nfiles, relative to {where}:")
    for path in report.paths:
        print(f"  {path.relative_to(where)}  ({path.stat().st_size} B)")
    print(f"\nThe dataset stays in {where.resolve()} (.aio-s3-ingest/ in it is the sync state);")
    print(f"delete {_demo.DESTINATION.resolve()} to clean up.")


def _configure_logging(
    verbose: bool, quiet: bool, stream: TextIO | None = None, *, drop_summary: bool = False
) -> None:
    """The library's lines on stderr (or ``stream``); ``drop_summary`` leaves out its
    summary line, for a run whose report is printed on stdout."""
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if drop_summary:
        handler.addFilter(lambda record: not hasattr(record, "ingest_report"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("aio_s3_ingest").setLevel(level)


def _report_error(exc: IngestError, *, verbose: bool) -> int:
    if verbose:
        logging.getLogger("aio_s3_ingest").exception("failed")
    print(f"aio-s3-ingest: error: {in_flags(exc)}", file=sys.stderr)
    return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED


def in_flags(exc: IngestError) -> str:
    """The error's message with each keyword argument it names (``workers_per_file``,
    ``anonymous=True``) said as this command line's flag (``--workers-per-file``,
    ``--anonymous``)."""
    text = str(exc)
    for name in exc.parameters:
        if name in FLAGS:
            pattern = rf"(?<![\w-]){re.escape(name)}(?:=True)?(?![\w-])"
            text = re.sub(pattern, FLAGS[name], text)
    return text
