"""Files that fail to transfer: the error names them and why, nothing partial is written."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from aio_s3_ingest import (
    IngestError,
    IngestFailed,
    ObjectChangedError,
    S3AccessError,
    TransferError,
)
from aio_s3_ingest._local.manifest import LocalManifest
from tests._proxy import (
    FaultProxy,
    Request,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._transfer import (
    Ingester,
    KiB,
    MiB,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    put_random,
    temp_files,
    via_proxy_fixture,  # noqa: F401 - the "via_proxy" fixture
)


def _always_break_the_body(proxy: FaultProxy) -> str:
    proxy.reset_after(64 * KiB, key="bad.bin")
    return "the body broke 2 times"  # max_attempts=2 bodies, each broken


def _always_slow_down(proxy: FaultProxy) -> str:
    proxy.respond(503, "SlowDown", key="bad.bin")
    return "SlowDown"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fault", "max_attempts"), [(_always_break_the_body, 2), (_always_slow_down, 1)]
)
async def test_a_failing_file_leaves_nothing_partial_and_a_rerun_fetches_only_it(
    s3: Any,
    bucket: str,
    dataset: pathlib.Path,
    via_proxy: Ingester,
    proxy: FaultProxy,
    fault: Callable[[FaultProxy], str],
    max_attempts: int,
) -> None:
    """A key that fails every attempt: IngestFailed names it and why; nothing partial; the
    other files are done and recorded; a rerun fetches only it."""
    bad, _ = put_random(s3, bucket, "data/deep/bad.bin", 300 * KiB)
    goods = {
        f"data/good{i}.bin": put_random(s3, bucket, f"data/good{i}.bin", 100 * KiB)[0]
        for i in range(2)
    }
    why = fault(proxy)
    ingester = via_proxy(max_attempts=max_attempts)
    with pytest.raises(IngestFailed) as excinfo:
        await ingester.fetch_data()
    assert isinstance(excinfo.value, IngestError)
    assert list(excinfo.value.failures) == ["data/deep/bad.bin"]
    cause = excinfo.value.failures["data/deep/bad.bin"]
    assert isinstance(cause, TransferError)
    assert cause.key == "data/deep/bad.bin"
    assert cause.__cause__ is not None
    assert why in str(cause)
    assert "data/deep/bad.bin" in str(excinfo.value)
    assert temp_files(dataset) == []
    assert not (dataset / "deep" / "bad.bin").exists()
    for key, body in goods.items():
        assert (dataset / key.removeprefix("data/")).read_bytes() == body
    records = LocalManifest(dataset / ".aio-s3-ingest").load()
    assert sorted(records) == ["good0.bin", "good1.bin"]

    proxy.clear_rules()
    proxy.reset_stats()
    await ingester.fetch_data()
    assert [x.key for x in proxy.data_gets()] == ["data/deep/bad.bin"]
    assert (dataset / "deep" / "bad.bin").read_bytes() == bad


@pytest.mark.asyncio
async def test_max_attempts_is_the_number_of_attempts_per_request(
    s3: Any, bucket: str, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """max_attempts=1: a GET answered 503 SlowDown is sent once, not retried."""
    s3.put_object(Bucket=bucket, Key="data/bad.bin", Body=b"x")
    proxy.respond(503, "SlowDown", key="bad.bin")
    with pytest.raises(IngestFailed):
        await via_proxy(max_attempts=1).fetch_data()
    assert len(proxy.data_gets("data/bad.bin")) == 1


@pytest.mark.asyncio
async def test_access_denied_on_one_object_is_reported_as_access_denied(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """A 403 on one GET fails that key with S3AccessError, not as a local write failure."""
    s3.put_object(Bucket=bucket, Key="data/bad.bin", Body=b"secret")
    s3.put_object(Bucket=bucket, Key="data/good.bin", Body=b"public")
    proxy.respond(403, "AccessDenied", key="bad.bin")
    with pytest.raises(IngestFailed) as excinfo:
        await via_proxy().fetch_data()
    cause = excinfo.value.failures["data/bad.bin"]
    assert (dataset / "good.bin").read_bytes() == b"public"
    assert "cannot write" not in str(cause)
    assert isinstance(cause, S3AccessError)


@pytest.mark.asyncio
async def test_an_object_that_keeps_changing_fails_without_a_mixed_file(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Rewritten before every GET: ObjectChangedError after max_attempts, nothing written."""
    put_random(s3, bucket, "data/big.bin", 2 * MiB)

    def overwrite(request: Request) -> None:
        s3.put_object(Bucket=bucket, Key="data/big.bin", Body=os.urandom(2 * MiB))

    proxy.before_forward(overwrite, key="big.bin")
    with pytest.raises(IngestFailed) as excinfo:
        await via_proxy(max_attempts=3, workers_per_file=2, part_size=1 * MiB).fetch_data()
    assert isinstance(excinfo.value.failures["data/big.bin"], ObjectChangedError)
    statuses = {x.status for x in proxy.data_gets()}
    assert 412 in statuses
    # moto may answer 500 to a GET whose object another request's overwrite replaced while
    # it was served (it closes the old body's buffer); never a 200 or 206 here.
    assert statuses <= {412, 500}
    assert not (dataset / "big.bin").exists()
    assert temp_files(dataset) == []
