"""Errors carry the keyword arguments they name, and an unreachable endpoint says where
it came from: in the library's own words (the command line's are in test_cli_messages)."""

from __future__ import annotations

import pathlib
import pickle

import pytest

from aio_s3_ingest import (
    AsyncS3Ingester,
    ConfigError,
    EndpointError,
    S3Ingester,
)
from aio_s3_ingest._config import IngestConfig
from aio_s3_ingest._s3errors import endpoint_origin


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("workers_per_file", 0),
        ("max_concurrent_files", -1),
        ("s3_timestamp_tolerance", -3),
        ("dataset_id", "a/b"),
        ("endpoint_url", "s3.example.com"),
        ("file_pattern", []),
        ("manifest_file_name", ""),
        ("read_timeout", 0),
        ("progress", "yes"),
        ("destination_directory", 3),
    ],
)
def test_config_error_names_its_parameter(option: str, value: object) -> None:
    """ConfigError.parameter is the keyword argument at fault, which the message names."""
    with pytest.raises(ConfigError) as info:
        AsyncS3Ingester("bucket", "data/", **{option: value})  # type: ignore[arg-type]
    assert info.value.parameter == option
    assert info.value.parameters == (option,)
    assert str(info.value).startswith(option)


def test_config_error_survives_pickling() -> None:
    """A ConfigError keeps its message and parameter through pickle (process boundaries)."""
    error = pickle.loads(pickle.dumps(ConfigError("processes must be", parameter="processes")))
    assert (str(error), error.parameter) == ("processes must be", "processes")


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_unreachable_endpoint_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, closed_port: int, dest: pathlib.Path, variable: str
) -> None:
    """An unreachable endpoint set by an environment variable: EndpointError names it."""
    url = f"http://127.0.0.1:{closed_port}"
    monkeypatch.setenv(variable, url)
    ingester = S3Ingester("bkt", "data/", destination_directory=dest, max_attempts=1)
    with pytest.raises(EndpointError) as info:
        ingester.fetch_data()
    assert f"the endpoint {url} comes from {variable}" in str(info.value)
    assert info.value.parameters == ("endpoint_url",)
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.asyncio
async def test_unreachable_endpoint_from_the_keyword_names_it(
    closed_port: int, dest: pathlib.Path
) -> None:
    """An unreachable endpoint_url, also on an ingester used as a context manager."""
    url = f"http://127.0.0.1:{closed_port}"
    ingester = AsyncS3Ingester("bkt", "data/", endpoint_url=url, max_attempts=1)
    async with ingester:
        with pytest.raises(EndpointError, match=f"the endpoint {url} comes from endpoint_url$"):
            await ingester.plan()


def test_without_any_setting_the_endpoint_is_aws_for_the_region() -> None:
    """No endpoint_url and no variable: the message says it is AWS's endpoint for the
    region, and which settings would choose another."""
    config = IngestConfig(s3_bucket_name="b", s3_key_prefix="", dataset_id="d")
    assert endpoint_origin(config) == (
        "none of endpoint_url, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL is set, so the "
        "endpoint is AWS's own for region eu-west-1 (or the AWS config file's)"
    )
