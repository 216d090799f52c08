"""IngestReport from sync(), the dry run of plan(), and the tqdm progress bar."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import pytest

from aio_s3_ingest import ConfigError, IngestFailed, IngestReport, S3Ingester
from tests._helpers import MakeIngester, data_files
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401

OBJECTS = {
    "data/a.csv": b"x,y\n1,2\n",
    "data/nested/b.bin": os.urandom(300 * 1024),
    "data/nested/deeper/c.bin": os.urandom(5000),
}


def _upload(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def _snapshot(root: pathlib.Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` (state folder included) with its size and mtime."""
    if not root.exists():
        return {}
    return {
        path.relative_to(root).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
    }


@pytest.mark.asyncio
async def test_sync_reports_what_each_run_fetched_kept_and_deleted(
    s3: Any, bucket: str, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """First run fetches all, a rerun keeps all, then a change and a removal are reported;
    the request count is what crossed the wire."""
    _upload(s3, bucket, OBJECTS)
    ingester = make_ingester(endpoint_url=proxy.url)
    first = await ingester.sync()
    assert first.fetched == ("a.csv", "nested/b.bin", "nested/deeper/c.bin")
    assert (first.kept, first.deleted, first.failed, first.dry_run) == ((), (), {}, False)
    assert first.bytes_fetched == sum(len(body) for body in OBJECTS.values())
    assert first.requests == len(proxy.exchanges) == 4  # one listing page, three GETs
    assert first.retries == first.throttled == 0
    assert first.seconds > 0
    assert first.throughput > 0
    assert first.paths == [ingester.dataset_directory / rel for rel in first.fetched]
    assert first.paths == await ingester.fetch_data()  # the rerun is a cache hit

    proxy.reset_stats()
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"x,y\n3,4\n")
    s3.delete_object(Bucket=bucket, Key="data/nested/deeper/c.bin")
    third = await ingester.sync()
    assert (third.fetched, third.kept, third.deleted) == (
        ("a.csv",),
        ("nested/b.bin",),
        ("nested/deeper/c.bin",),
    )
    assert third.bytes_fetched == 8
    assert third.requests == len(proxy.exchanges) == 2
    assert data_files(ingester.dataset_directory) == ["a.csv", "nested/b.bin"]


@pytest.mark.asyncio
async def test_the_report_is_one_json_object(
    make_ingester: MakeIngester, s3: Any, bucket: str
) -> None:
    """to_dict() holds every field plus throughput, and survives json round-trips."""
    _upload(s3, bucket, OBJECTS)
    report = await make_ingester().sync()
    document = json.loads(json.dumps(report.to_dict()))
    assert document["fetched"] == list(report.fetched)
    assert document["bytes_fetched"] == report.bytes_fetched
    assert set(document) == {
        "dataset_directory", "dry_run", "fetched", "kept", "deleted", "unselected",
        "failed", "skipped", "bytes_fetched", "seconds", "throughput", "requests",
        "retries", "throttled", "verified", "unverified", "bytes_resumed",
    }  # fmt: skip
    assert document["verified"] == {"CRC32": 3}  # boto3 uploads with a CRC32 by default
    assert document["unverified"] == 0
    assert "fetched 3 file(s)" in report.summary()
    assert "verified 3 CRC32" in report.summary()


@pytest.mark.asyncio
async def test_plan_lists_and_compares_without_a_get_and_without_writing(
    s3: Any, bucket: str, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """A dry run before any fetch creates nothing; after one, it names the changed and the
    removed file, sends no GetObject, and leaves every byte and mtime on disk as it was."""
    _upload(s3, bucket, OBJECTS)
    ingester = make_ingester(endpoint_url=proxy.url)
    before = await ingester.plan()
    assert before.dry_run
    assert before.fetched == ("a.csv", "nested/b.bin", "nested/deeper/c.bin")
    assert before.bytes_fetched == sum(len(body) for body in OBJECTS.values())
    assert not ingester.dataset_directory.exists()
    assert proxy.data_gets() == []

    await ingester.fetch_data()
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"changed")
    s3.delete_object(Bucket=bucket, Key="data/nested/b.bin")
    snapshot = _snapshot(ingester.dataset_directory)
    proxy.reset_stats()
    after = await ingester.plan()
    assert (after.fetched, after.kept, after.deleted) == (
        ("a.csv",),
        ("nested/deeper/c.bin",),
        ("nested/b.bin",),
    )
    assert proxy.data_gets() == []
    assert [x.method for x in proxy.exchanges] == ["GET"]  # the listing page only
    assert _snapshot(ingester.dataset_directory) == snapshot


@pytest.mark.asyncio
async def test_a_failed_run_carries_its_report(
    s3: Any, bucket: str, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """IngestFailed.report names the failed key and its cause beside the files that landed."""
    _upload(s3, bucket, OBJECTS)
    proxy.respond(403, "AccessDenied", key="data/nested/b.bin")
    with pytest.raises(IngestFailed) as caught:
        await make_ingester(endpoint_url=proxy.url).sync()
    report = caught.value.report
    assert isinstance(report, IngestReport)
    assert report.fetched == ("a.csv", "nested/deeper/c.bin")
    assert list(report.failed) == ["data/nested/b.bin"]
    assert "AccessDenied" in report.failed["data/nested/b.bin"] or "denied" in (
        report.failed["data/nested/b.bin"].lower()
    )
    assert not report.ok


def test_the_sync_wrapper_offers_sync_and_plan(
    s3: Any, bucket: str, moto_endpoint: str, dest: pathlib.Path
) -> None:
    """S3Ingester.plan() and .sync() return the same reports as the async ingester."""
    _upload(s3, bucket, OBJECTS)
    ingester = S3Ingester(
        bucket, "data/", dataset_id="ds", destination_directory=dest, endpoint_url=moto_endpoint
    )
    assert ingester.plan().fetched == ("a.csv", "nested/b.bin", "nested/deeper/c.bin")
    assert len(ingester.sync().fetched) == 3
    assert ingester.plan().fetched == ()
    assert ingester.sync().kept == ("a.csv", "nested/b.bin", "nested/deeper/c.bin")


# -- the progress bar ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_progress_true_draws_a_tqdm_bar_in_bytes_and_files(
    s3: Any, bucket: str, make_ingester: MakeIngester, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bar counts bytes to 100 % with a rate, and files in its postfix; a cache hit
    draws no bar."""
    _upload(s3, bucket, OBJECTS)
    ingester = make_ingester(progress=True)
    await ingester.fetch_data()
    drawn = capsys.readouterr().err
    assert "aio-s3-ingest" in drawn
    assert "100%" in drawn
    assert "3/3 files" in drawn
    assert "B/s" in drawn
    await ingester.fetch_data()
    assert capsys.readouterr().err == ""


@pytest.mark.asyncio
async def test_progress_auto_stays_silent_when_stderr_is_not_a_terminal(
    s3: Any, bucket: str, make_ingester: MakeIngester, capsys: pytest.CaptureFixture[str]
) -> None:
    """progress=None (the default) draws nothing into a pipe or a log file."""
    _upload(s3, bucket, OBJECTS)
    await make_ingester().fetch_data()
    assert capsys.readouterr().err == ""


def test_progress_option_is_checked(make_ingester: MakeIngester) -> None:
    """Only True, False, None or a callable."""
    for wrong in ("yes", 1, [print]):
        with pytest.raises(ConfigError, match="progress must be True, False, None or a callable"):
            make_ingester(progress=wrong)
