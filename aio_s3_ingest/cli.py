"""The command line: ``aio-s3-ingest s3://bucket/prefix DEST`` and ``aio-s3-ingest demo``.

The only module that prints or configures logging.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import TextIO

import anyio

from ._ingest import AsyncS3Ingester
from ._progress import BytesReceived, FileFinished, ProgressEvent, RunPlanned
from .errors import ConfigError, IngestError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class LineProgress:
    """A single self-rewriting status line: files, bytes, throughput."""

    def __init__(self, stream: TextIO, label: str, *, min_interval: float = 0.1) -> None:
        self.stream, self.label, self.min_interval = stream, label, min_interval
        self.files_total = self.files_done = self.bytes_total = self.bytes_done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._live = stream.isatty()

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, RunPlanned):
            self.files_total, self.bytes_total = event.files_to_fetch, event.bytes_to_fetch
            self.started = time.monotonic()
        elif isinstance(event, BytesReceived):
            self.bytes_done += event.nbytes
        elif isinstance(event, FileFinished):
            self.files_done += 1
        self._draw(force=isinstance(event, (RunPlanned, FileFinished)) and self._complete())

    def finish(self) -> None:
        """Draw the final state once (the only drawing when the stream is not a terminal)."""
        if self.files_total:
            self._live = True
            self._draw(force=True)
            self.stream.write("\n")

    def _complete(self) -> bool:
        return self.files_done >= self.files_total

    def _draw(self, *, force: bool) -> None:
        now = time.monotonic()
        if not self._live or (not force and now - self._last_draw < self.min_interval):
            return
        self._last_draw = now
        rate = self.bytes_done / max(now - self.started, 1e-9)
        self.stream.write(
            f"\r{self.label}: {self.files_done}/{self.files_total} files, "
            f"{self.bytes_done / 2**20:.1f}/{self.bytes_total / 2**20:.1f} MiB, "
            f"{rate / 2**20:.1f} MiB/s   "
        )
        self.stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aio-s3-ingest`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["demo"]:
        return _run_demo(args[1:])
    return _run_fetch(args)


def _fetch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aio-s3-ingest",
        description="Fetch the objects under an S3 prefix into DEST/DATASET_ID and keep them "
        "in sync: unchanged files are not fetched again. Run 'aio-s3-ingest demo' to see it "
        "work against a local S3 server.",
    )
    parser.add_argument("source", metavar="s3://BUCKET/PREFIX", help="where the dataset is")
    parser.add_argument("dest", metavar="DEST", help="destination directory")
    parser.add_argument("--pattern", action="append", help="fnmatch pattern, repeatable")
    parser.add_argument("--dataset-id", help="folder name under DEST (default: a fingerprint)")
    parser.add_argument("--max-concurrent-files", type=int, default=64, metavar="N")
    parser.add_argument("--workers-per-file", type=int, default=1, metavar="N")
    parser.add_argument("--manifest-file-name", default="manifest", metavar="NAME")
    parser.add_argument("--no-manifest", action="store_true", help="ignore any S3 manifest")
    parser.add_argument("--timestamp-tolerance", type=float, default=-1, metavar="HOURS")
    parser.add_argument("--profile", help="AWS profile name")
    parser.add_argument("--region", default="eu-west-1", help="AWS region (default eu-west-1)")
    parser.add_argument("--endpoint-url", help="S3-compatible endpoint, e.g. http://localhost:9000")
    parser.add_argument("--anonymous", action="store_true", help="unsigned requests")
    parser.add_argument("--force", action="store_true", help="fetch every file again")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs, tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only")
    return parser


def _run_fetch(argv: list[str]) -> int:
    args = _fetch_parser().parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    bucket, _, prefix = args.source.removeprefix("s3://").partition("/")
    if not args.source.startswith("s3://") or not bucket:
        print(f"aio-s3-ingest: error: {args.source!r} is not s3://BUCKET/PREFIX", file=sys.stderr)
        return EXIT_USAGE
    progress = LineProgress(sys.stderr, "fetching") if sys.stderr.isatty() else None
    try:
        ingester = AsyncS3Ingester(
            bucket,
            prefix,
            file_pattern=args.pattern or "*",
            dataset_id=args.dataset_id,
            destination_directory=args.dest,
            aws_profile_name=args.profile,
            aws_region_name=args.region,
            max_concurrent_files=args.max_concurrent_files,
            workers_per_file=args.workers_per_file,
            manifest_file_name=None if args.no_manifest else args.manifest_file_name,
            s3_timestamp_tolerance=args.timestamp_tolerance,
            endpoint_url=args.endpoint_url,
            anonymous=args.anonymous,
            progress=progress,
        )
        paths = anyio.run(ingester.fetch_data, args.force, backend="asyncio")
    except IngestError as exc:
        return _report_error(exc, verbose=args.verbose)
    if progress is not None:
        progress.finish()
    if not args.quiet:
        print(f"{len(paths)} file(s) in {ingester.dataset_directory}")
    return EXIT_OK


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
        for label in ("first fetch", "second fetch (nothing changed)"):
            progress = LineProgress(sys.stdout, label)
            ingester = AsyncS3Ingester(
                _demo.BUCKET,
                _demo.PREFIX,
                destination_directory=dest,
                dataset_id="sales",
                workers_per_file=4,
                endpoint_url=endpoint,
                progress=progress,
            )
            started = time.monotonic()
            paths = anyio.run(ingester.fetch_data, backend="asyncio")
            progress.finish()
            print(f"  {len(paths)} files in {time.monotonic() - started:.2f} s")
        print(f"files, relative to {ingester.dataset_directory}:")
        for path in paths:
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
