"""Keys that cannot become files: archived objects and folder markers that hold data."""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import pytest

from aio_s3_ingest import IngestFailed, ObjectArchivedError, TransferError
from tests._helpers import MakeIngester, data_files
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)


@pytest.fixture
def archived(s3: Any, bucket: str) -> dict[str, str]:
    """Two readable objects, one in GLACIER and one in DEEP_ARCHIVE; returns key -> class."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    s3.put_object(Bucket=bucket, Key="data/sub/b.csv", Body=b"b", StorageClass="GLACIER_IR")
    classes = {"data/cold.csv": "GLACIER", "data/sub/colder.csv": "DEEP_ARCHIVE"}
    for key, storage_class in classes.items():
        s3.put_object(Bucket=bucket, Key=key, Body=b"frozen", StorageClass=storage_class)
    return classes


@pytest.mark.asyncio
async def test_archived_objects_are_refused_without_a_get_and_the_rest_is_fetched(
    archived: dict[str, str],
    dest: pathlib.Path,
    make_ingester: MakeIngester,
    proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GLACIER and DEEP_ARCHIVE objects get no GET; each fails naming its class and that it
    must be restored, with one WARNING; the other files land; the run raises IngestFailed."""
    caplog.set_level(logging.WARNING, logger="aio_s3_ingest")
    with pytest.raises(IngestFailed) as info:
        await make_ingester(endpoint_url=proxy.url).fetch_data()
    assert sorted(x.key for x in proxy.data_gets()) == ["data/a.csv", "data/sub/b.csv"]
    assert data_files(dest / "ds") == ["a.csv", "sub/b.csv"]
    assert sorted(info.value.failures) == sorted(archived)
    for key, storage_class in archived.items():
        error = info.value.failures[key]
        assert isinstance(error, ObjectArchivedError)
        assert isinstance(error, TransferError)
        assert error.storage_class == storage_class
        assert key in str(info.value)
        assert f"storage class {storage_class}" in str(error)
        assert "restore it first" in str(error)
    report = info.value.report
    assert report is not None
    assert report.fetched == ("a.csv", "sub/b.csv")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "data/cold.csv (GLACIER)" in warnings[0]
    assert "data/sub/colder.csv (DEEP_ARCHIVE)" in warnings[0]


@pytest.mark.asyncio
async def test_a_dry_run_shows_the_archived_objects(
    archived: dict[str, str], dest: pathlib.Path, make_ingester: MakeIngester, proxy: FaultProxy
) -> None:
    """plan() lists archived objects among what would fail, without a GET or an error."""
    report = await make_ingester(endpoint_url=proxy.url).plan()
    assert report.fetched == ("a.csv", "sub/b.csv")
    assert sorted(report.failed) == sorted(archived)
    assert "ObjectArchivedError" in report.failed["data/cold.csv"]
    assert "2 would fail" in report.summary()
    assert proxy.data_gets() == []


@pytest.mark.asyncio
async def test_a_restored_archived_object_is_fetched(
    s3: Any, bucket: str, archived: dict[str, str], dest: pathlib.Path, make_ingester: MakeIngester
) -> None:
    """Once restored (``x-amz-restore: ongoing-request="false"``), an archived object lands."""
    for key in archived:
        s3.restore_object(Bucket=bucket, Key=key, RestoreRequest={"Days": 1})
    paths = await make_ingester().fetch_data()
    assert [p.relative_to(dest / "ds").as_posix() for p in paths] == [
        "a.csv",
        "cold.csv",
        "sub/b.csv",
        "sub/colder.csv",
    ]
    assert (dest / "ds" / "cold.csv").read_bytes() == b"frozen"


@pytest.mark.asyncio
async def test_a_key_ending_in_slash_that_holds_data_is_reported(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A non-empty key ending in '/' is skipped with a WARNING and a line in the report; an
    empty folder marker stays silent."""
    caplog.set_level(logging.WARNING, logger="aio_s3_ingest")
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    s3.put_object(Bucket=bucket, Key="data/empty/", Body=b"")
    s3.put_object(Bucket=bucket, Key="data/full/", Body=b"12345")
    report = await make_ingester().sync()
    assert report.fetched == ("a.csv",)
    assert list(report.skipped) == ["data/full/"]
    assert "5 byte(s)" in report.skipped["data/full/"]
    assert "1 key(s) skipped" in report.summary()
    assert report.to_dict()["skipped"] == dict(report.skipped)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "data/full/" in warnings[0]
