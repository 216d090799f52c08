"""A TLS endpoint whose certificate the client cannot verify: one clear error, no retries."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import trustme

from aio_s3_ingest import AsyncS3Ingester, EndpointError, IngestFailed
from aio_s3_ingest._progress import FileStarted, ProgressEvent
from tests._helpers import MakeIngester
from tests._tls_front import TlsFront


def _ingester(url: str, dest: pathlib.Path, direct_get: bool) -> AsyncS3Ingester:
    return AsyncS3Ingester(
        "bkt",
        "data/",
        dataset_id="ds",
        destination_directory=dest,
        endpoint_url=url,
        direct_get=direct_get,
        max_attempts=4,
    )


def _assert_names_the_ca_bundle(error: BaseException) -> None:
    message = str(error)
    assert isinstance(error, EndpointError), repr(error)
    assert "certificate" in message, message
    assert "AWS_CA_BUNDLE" in message, message
    assert "ca_bundle" in message, message


@pytest.mark.asyncio
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_unverifiable_certificate_fails_the_run_at_the_listing_without_retries(
    direct_get: bool, moto_endpoint: str, dest: pathlib.Path
) -> None:
    """A certificate from an untrusted CA ends the run with EndpointError naming
    AWS_CA_BUNDLE/ca_bundle, after one handshake (not max_attempts), on both GET paths."""
    with TlsFront(moto_endpoint, trustme.CA()).running(distrusted=True) as front:
        with pytest.raises(EndpointError) as info:
            await _ingester(front.url, dest, direct_get).fetch_data()
        handshakes = front.handshakes
    assert handshakes == 1
    _assert_names_the_ca_bundle(info.value)
    assert "s3://bkt/data/" in str(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize("direct_get", [True, False], ids=["direct", "botocore"])
async def test_unverifiable_certificate_on_a_get_is_not_retried(
    direct_get: bool,
    moto_endpoint: str,
    make_ingester: MakeIngester,
    s3: Any,
    bucket: str,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A certificate that stops verifying after the listing fails the GET with EndpointError
    after one handshake: no layer (GET retries, body resumes) retries it."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a,b\n1,2\n")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    with TlsFront(moto_endpoint, ca).running() as front:
        listed_with = 0

        def progress(event: ProgressEvent) -> None:
            nonlocal listed_with
            # The first file starts once its listing page is in, before its GET is sent
            # (the plan as a whole may come later: files start while the listing ends).
            if isinstance(event, FileStarted) and not listed_with:
                listed_with = front.handshakes
                front.distrust()

        ingester = make_ingester(
            endpoint_url=front.url, direct_get=direct_get, max_attempts=4, progress=progress
        )
        with pytest.raises(IngestFailed) as info:
            await ingester.fetch_data()
        handshakes = front.handshakes
    assert listed_with >= 1
    assert handshakes - listed_with == 1
    assert list(info.value.failures) == ["data/a.csv"]
    _assert_names_the_ca_bundle(info.value.failures["data/a.csv"])
