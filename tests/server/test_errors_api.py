"""The public surface against a real endpoint: access and credential errors, the endpoint
chosen, anonymous reads, logging, and the typed API examples run."""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import anyio
import botocore.exceptions
import pytest

from aio_s3_ingest import (
    AsyncS3Ingester,
    ConfigError,
    CredentialsError,
    IngestError,
    IngestFailed,
    S3AccessError,
)
from tests._helpers import MakeIngester, load_typing_api

# --- access errors against the endpoint ------------------------------------------------------


@pytest.mark.asyncio
async def test_missing_bucket_is_an_access_error_naming_it(
    moto_endpoint: str, dest: pathlib.Path
) -> None:
    """A bucket that does not exist raises S3AccessError (a PermissionError) naming the bucket."""
    ingester = AsyncS3Ingester(
        "no-such-bucket-here",
        "data/",
        dataset_id="ds",
        destination_directory=dest,
        endpoint_url=moto_endpoint,
    )
    with pytest.raises(PermissionError) as info:
        await ingester.fetch_data()
    assert isinstance(info.value, S3AccessError)
    assert "no-such-bucket-here" in str(info.value)
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_no_credentials_fails_before_any_work(
    monkeypatch: pytest.MonkeyPatch,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
) -> None:
    """With no credentials anywhere, CredentialsError is raised and nothing is created."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsError) as info:
        await make_ingester().fetch_data()
    assert "credentials" in str(info.value).lower()
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_unknown_profile_is_a_config_error(
    dest: pathlib.Path, make_ingester: MakeIngester, bucket: str
) -> None:
    """An aws_profile_name that no config file defines raises ConfigError naming the profile."""
    with pytest.raises(ConfigError) as info:
        await make_ingester(aws_profile_name="no-such-profile").fetch_data()
    assert "no-such-profile" in str(info.value)
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_profile_credentials_are_used(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
) -> None:
    """aws_profile_name reads that profile's keys from the shared credentials file."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[ingest]\naws_access_key_id = from-profile\naws_secret_access_key = secret\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    paths = await make_ingester(aws_profile_name="ingest").fetch_data()
    assert paths == [dest / "ds" / "a.csv"]


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
@pytest.mark.asyncio
async def test_endpoint_url_from_environment(
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    variable: str,
) -> None:
    """Without endpoint_url, AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL are honoured."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    monkeypatch.setenv(variable, moto_endpoint)
    ingester = AsyncS3Ingester(bucket, "data/", dataset_id="ds", destination_directory=dest)
    assert await ingester.fetch_data() == [dest / "ds" / "a.csv"]


@pytest.mark.asyncio
async def test_service_endpoint_variable_wins_over_the_general_one(
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    closed_port: int,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
) -> None:
    """AWS_ENDPOINT_URL_S3 takes precedence over AWS_ENDPOINT_URL."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    ingester = AsyncS3Ingester(
        bucket, "data/", dataset_id="ds", destination_directory=dest, max_attempts=1
    )
    assert await ingester.fetch_data() == [dest / "ds" / "a.csv"]


@pytest.mark.asyncio
async def test_explicit_endpoint_url_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
) -> None:
    """The endpoint_url option overrides AWS_ENDPOINT_URL_S3."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{closed_port}")
    assert await make_ingester(max_attempts=1).fetch_data() == [dest / "ds" / "a.csv"]


@pytest.fixture
def public_bucket(s3: Any, bucket: str) -> str:
    """This test's bucket with a public-read bucket ACL and public-read objects."""
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    for key in ("data/a.csv", "data/sub/b.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode(), ACL="public-read")
    return bucket


@pytest.mark.asyncio
async def test_anonymous_reads_a_public_bucket_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
    public_bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
) -> None:
    """anonymous=True sends unsigned requests: with no credentials anywhere, public files land."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    paths = await make_ingester(anonymous=True).fetch_data()
    assert paths == [dest / "ds" / "a.csv", dest / "ds" / "sub/b.csv"]
    assert paths[1].read_bytes() == b"data/sub/b.csv"


@pytest.mark.asyncio
async def test_anonymous_read_of_a_private_object_is_an_access_failure(
    monkeypatch: pytest.MonkeyPatch,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
) -> None:
    """An object refused to an unsigned GET fails as S3AccessError, not as a write error."""
    # moto lets the unsigned listing through but refuses the GET of a private object.
    s3.put_object(Bucket=bucket, Key="data/private.csv", Body=b"secret")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(IngestFailed) as info:
        await make_ingester(anonymous=True).fetch_data()
    failure = info.value.failures["data/private.csv"]
    assert "cannot write" not in str(failure)
    assert isinstance(failure, S3AccessError)


@pytest.mark.asyncio
async def test_anonymous_read_of_a_private_object_fails_that_key(
    monkeypatch: pytest.MonkeyPatch,
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    make_ingester: MakeIngester,
) -> None:
    """A refused object is reported in IngestFailed under its key; public ones still land."""
    s3.put_object(Bucket=bucket, Key="data/private.csv", Body=b"secret")
    s3.put_object(Bucket=bucket, Key="data/public.csv", Body=b"open", ACL="public-read")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(IngestFailed) as info:
        await make_ingester(anonymous=True).fetch_data()
    assert list(info.value.failures) == ["data/private.csv"]
    assert isinstance(info.value.failures["data/private.csv"], IngestError)
    assert (dest / "ds" / "public.csv").read_bytes() == b"open"
    assert not (dest / "ds" / "private.csv").exists()


# --- logging ---------------------------------------------------------------------------------


def _info_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "aio_s3_ingest" and r.levelno == logging.INFO
    ]


@pytest.mark.asyncio
async def test_cache_miss_hit_and_force_are_logged_at_info(
    caplog: pytest.LogCaptureFixture, s3: Any, bucket: str, make_ingester: MakeIngester
) -> None:
    """Each run says at INFO whether it was a cache miss, a cache hit, or forced."""
    caplog.set_level(logging.INFO, logger="aio_s3_ingest")
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    s3.put_object(Bucket=bucket, Key="data/b.csv", Body=b"b")
    ingester = make_ingester()

    await ingester.fetch_data()
    assert any(m.startswith("cache miss: fetching 2 of 2 file(s)") for m in _info_messages(caplog))

    caplog.clear()
    await ingester.fetch_data()
    messages = _info_messages(caplog)
    assert any(m.startswith("cache hit: 2 file(s)") for m in messages)
    assert not any("cache miss" in m for m in messages)

    caplog.clear()
    await ingester.fetch_data(force_recompute=True)
    messages = _info_messages(caplog)
    assert any(m.startswith("force_recompute: fetching all 2 file(s)") for m in messages)
    assert not any("cache hit" in m for m in messages)


@pytest.mark.asyncio
async def test_nothing_is_logged_above_info_on_success(
    caplog: pytest.LogCaptureFixture, s3: Any, bucket: str, make_ingester: MakeIngester
) -> None:
    """A clean run logs no warnings or errors."""
    caplog.set_level(logging.DEBUG, logger="aio_s3_ingest")
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    await make_ingester().fetch_data()
    assert [r for r in caplog.records if r.levelno > logging.INFO] == []


# --- the typed API file ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_typing_api_examples_run(
    moto_endpoint: str, s3: Any, bucket: str, dest: pathlib.Path
) -> None:
    """The typed examples are not just well-typed: they work against a real endpoint."""
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    api = load_typing_api()
    paths = await api.fetch_with_context_manager(bucket, moto_endpoint, dest)
    assert paths == [dest / "ds" / "a.csv"]
    assert await api.fetch_without_context_manager(bucket, moto_endpoint, dest) == paths
    counter = await api.fetch_with_progress(bucket, moto_endpoint, dest)
    assert (counter.total, counter.finished) == (1, ["data/a.csv"])
    assert api.describe_failure(IngestFailed({"k": OSError("x")})) == ["k"]
