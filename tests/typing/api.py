"""Typed uses of the public API, checked by ``mypy --strict`` (see ``[tool.mypy] files``).

This is not a test module: pytest never collects it (no ``test_`` prefix), and
importing it only defines functions. ``tests/server/test_errors_api.py`` runs a few of
them against the moto server to keep the examples honest.
"""

from __future__ import annotations

import contextlib
import logging
import pathlib
import sys
from collections.abc import Mapping

from aio_s3_ingest import (
    AsyncS3Ingester,
    BytesReceived,
    ChecksumMismatchError,
    ConfigError,
    CredentialsError,
    DatasetFile,
    EndpointError,
    FileFinished,
    FileResumed,
    FileStarted,
    IngestError,
    IngestFailed,
    IngestReport,
    LockTimeoutError,
    ManifestError,
    NoMatchingFilesError,
    ProgressCallback,
    ProgressEvent,
    RetryScheduled,
    RunPlanned,
    S3AccessError,
    S3Ingester,
    Throttled,
    TimestampToleranceError,
    TransferError,
    UnsafeKeyError,
    __version__,
    logger,
)

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type


class ByteCounter:
    """A progress callback with state: counts the bytes received."""

    def __init__(self) -> None:
        self.total = 0
        self.finished: list[str] = []

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, BytesReceived):
            self.total += event.nbytes
        elif isinstance(event, FileFinished):
            self.finished.append(event.key)


def describe_event(event: ProgressEvent) -> str:
    """Every event type, narrowed by isinstance, with its typed fields."""
    if isinstance(event, RunPlanned):
        assert_type(event.bytes_to_fetch, int)
        return f"plan: {event.files_to_fetch} to fetch, {event.files_to_keep} kept"
    if isinstance(event, FileStarted):
        return f"start {event.key} ({event.size} B)"
    if isinstance(event, BytesReceived):
        return f"{event.key}: +{event.nbytes} B"
    if isinstance(event, FileResumed):
        assert_type(event.nbytes, int)
        return f"{event.key}: {event.nbytes} B already on disk"
    if isinstance(event, FileFinished):
        return f"done {event.key}"
    if isinstance(event, RetryScheduled):
        return f"retry {event.key} #{event.attempt}: {event.cause}"
    assert_type(event, Throttled)
    return f"throttled on {event.key}: {event.count} so far, {event.limit} in flight"


def print_progress(event: ProgressEvent) -> None:
    """A plain function is a ProgressCallback."""
    sys.stdout.write(describe_event(event) + "\n")


def build_async_with_every_option(dest: pathlib.Path, endpoint: str) -> AsyncS3Ingester:
    """The reference's eleven positional arguments, then every keyword-only option."""
    return AsyncS3Ingester(
        "bucket",
        "data/",
        ["*.csv", "*.json"],
        "ds",
        dest,
        None,
        "eu-west-1",
        8,
        2,
        "manifest",
        24,
        endpoint_url=endpoint,
        anonymous=False,
        part_size=8 * 1024 * 1024,
        chunk_size=1024 * 1024,
        max_attempts=3,
        connect_timeout=2.0,
        read_timeout=30.0,
        lock_timeout=None,
        processes=2,
        verify="require",
        shard=(0, 4),
        progress=ByteCounter(),
    )


def build_sync_with_keywords() -> S3Ingester:
    """Every parameter by keyword; optional ones given their non-default forms."""
    return S3Ingester(
        s3_bucket_name="bucket",
        s3_key_prefix="data/",
        file_pattern="*.csv",
        dataset_id=None,
        destination_directory="data/s3-ingester",
        aws_profile_name="analytics",
        aws_region_name="us-east-1",
        max_concurrent_files=64,
        workers_per_file=1,
        manifest_file_name=None,
        s3_timestamp_tolerance=-1,
        endpoint_url=None,
        anonymous=True,
        lock_timeout=0.0,
        progress=print_progress,
    )


async def fetch_with_context_manager(
    bucket: str, endpoint: str, dest: pathlib.Path
) -> list[pathlib.Path]:
    """One client for two calls; the second returns the same paths."""
    async with AsyncS3Ingester(
        bucket, "data/", dataset_id="ds", destination_directory=dest, endpoint_url=endpoint
    ) as ingester:
        assert_type(ingester, AsyncS3Ingester)
        first = await ingester.fetch_data()
        second = await ingester.fetch_data(force_recompute=False)
    assert_type(first, list[pathlib.Path])
    assert first == second
    return first


async def fetch_with_progress(bucket: str, endpoint: str, dest: pathlib.Path) -> ByteCounter:
    """A stateful callback sees the bytes of a forced run."""
    counter = ByteCounter()
    callback: ProgressCallback = counter
    ingester = AsyncS3Ingester(
        bucket,
        "data/",
        dataset_id="ds",
        destination_directory=dest,
        endpoint_url=endpoint,
        progress=callback,
    )
    await ingester.fetch_data(force_recompute=True)
    return counter


async def fetch_without_context_manager(
    bucket: str, endpoint: str, dest: pathlib.Path
) -> list[pathlib.Path]:
    """A bare await opens and closes its own client."""
    ingester = AsyncS3Ingester(
        bucket, "data/", dataset_id="ds", destination_directory=dest, endpoint_url=endpoint
    )
    assert_type(ingester.dataset_directory, pathlib.Path)
    return await ingester.fetch_data(True)


def fetch_sync(bucket: str, endpoint: str, dest: pathlib.Path) -> list[pathlib.Path]:
    """The synchronous face returns the same type."""
    ingester = S3Ingester(bucket, "data/", destination_directory=dest, endpoint_url=endpoint)
    paths = ingester.fetch_data(force_recompute=True)
    assert_type(paths, list[pathlib.Path])
    return paths


async def report_and_plan(ingester: AsyncS3Ingester) -> dict[str, object]:
    """sync() and plan() return an IngestReport; its JSON form is a plain dict."""
    preview = await ingester.plan()
    assert_type(preview, IngestReport)
    assert_type(preview.fetched, tuple[str, ...])
    report = await ingester.sync(force_recompute=False)
    assert_type(report.paths, list[pathlib.Path])
    assert_type(report.throughput, float)
    assert_type(report.failed, Mapping[str, str])
    return report.to_dict()


def sync_report_with_a_bar(bucket: str, dest: pathlib.Path) -> IngestReport:
    """progress=True forces the tqdm bar; the sync face has sync() and plan() too."""
    ingester = S3Ingester(bucket, "data/", destination_directory=dest, progress=True)
    assert_type(ingester.plan(), IngestReport)
    return ingester.sync()


def failed_report(exc: IngestFailed) -> int:
    """A failed run still says what landed."""
    report = exc.report
    assert_type(report, IngestReport | None)
    return 0 if report is None else len(report.fetched)


def describe_failure(exc: IngestError) -> list[str]:
    """The keys an error is about, read through each error's typed attributes."""
    if isinstance(exc, IngestFailed):
        failures = exc.failures
        assert_type(failures, dict[str, BaseException])
        return sorted(failures)
    if isinstance(exc, UnsafeKeyError):
        assert_type(exc.keys, list[str])
        assert_type(exc.problems, dict[str, str])
        return exc.keys
    if isinstance(exc, ChecksumMismatchError):
        assert_type((exc.algorithm, exc.expected, exc.got), tuple[str, str, str])
        return [exc.key]
    if isinstance(exc, TransferError):
        assert_type(exc.key, str)
        return [exc.key]
    return []


async def verified_counts(ingester: AsyncS3Ingester) -> int:
    """verify_local re-hashes kept files; the report counts files verified by algorithm."""
    report = await ingester.sync(verify_local=True)
    assert_type(report.verified, Mapping[str, int])
    assert_type(report.unverified, int)
    assert_type(report.bytes_resumed, int)
    plan = S3Ingester("bucket", "data/", verify="etag").plan(verify_local=True)
    return sum(report.verified.values()) + len(plan.fetched)


async def consume_as_they_land(ingester: AsyncS3Ingester) -> list[pathlib.Path]:
    """Files handed over as they land, in any order or in key order; closed for sure."""
    paths: list[pathlib.Path] = []
    async with contextlib.aclosing(ingester.iter_fetch(ordered=True)) as files:
        async for file in files:
            assert_type(file, DatasetFile)
            assert_type(
                (file.relpath, file.size, file.key, file.fetched), tuple[str, int, str, bool]
            )
            paths.append(file.path)
    for item in S3Ingester("bucket", "data/").iter_fetch(verify_local=True):
        paths.append(item.path)
    return paths


async def fetch_and_classify(ingester: AsyncS3Ingester) -> str:
    """Every public error can be caught on its own; the built-in bases work too."""
    try:
        await ingester.fetch_data()
    except ConfigError as exc:
        value_error: ValueError = exc
        return f"config: {value_error}"
    except CredentialsError:
        return "credentials"
    except S3AccessError as exc:
        permission_error: PermissionError = exc
        return f"access: {permission_error}"
    except EndpointError as exc:
        connection_error: ConnectionError = exc
        return f"endpoint: {connection_error}"
    except NoMatchingFilesError as exc:
        not_found: FileNotFoundError = exc
        return f"no match: {not_found}"
    except (TimestampToleranceError, ManifestError) as exc:
        return f"dataset: {exc}"
    except LockTimeoutError as exc:
        timeout: TimeoutError = exc
        return f"locked: {timeout}"
    except UnsafeKeyError as exc:
        return f"unsafe: {', '.join(exc.keys)}"
    except IngestFailed as exc:
        return f"failed: {', '.join(describe_failure(exc))}"
    except IngestError as exc:
        return f"other: {exc}"
    return "ok"


def module_attributes() -> tuple[str, logging.Logger]:
    """``__version__`` is a str and ``logger`` a standard Logger."""
    assert_type(__version__, str)
    assert_type(logger, logging.Logger)
    return __version__, logger
