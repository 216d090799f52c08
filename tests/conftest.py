"""Fixtures for every test; a real S3 endpoint for the tests that ask for one.

The moto server is started once per session, and only when a test first asks for it
(``moto_endpoint``, or a fixture built on it: ``s3``, ``bucket``, ``make_ingester``,
``proxy``); moto and boto3 are imported then too. The tests under ``tests/unit/`` never
ask: they are marked ``unit``, so ``pytest -m unit`` runs them alone, in seconds, with no
server. A unit test that asks for the server is a usage error, reported at collection.
"""

from __future__ import annotations

import logging
import os
import pathlib
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester

REGION = "eu-west-1"
UNIT_TESTS = pathlib.Path(__file__).parent / "unit"


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under ``tests/unit/`` ``unit``; refuse one that needs the moto server."""
    needs_server = []
    for item in items:
        if UNIT_TESTS in item.path.parents:
            item.add_marker(pytest.mark.unit)
            if "moto_endpoint" in getattr(item, "fixturenames", ()):
                needs_server.append(item.nodeid)
    if needs_server:
        raise pytest.UsageError(
            "unit tests must not use the moto server (move them to tests/server/): "
            + ", ".join(needs_server)
        )


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on a free loopback port, shared by the session; started
    by the first test that asks for it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Dummy credentials, and no AWS setting of the machine leaks into a test."""

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path_factory.mktemp("aws")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    """A plain boto3 client for arranging objects (never used by the code under test)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new, empty bucket for this test alone."""
    name = f"test-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def dest(tmp_path: pathlib.Path) -> pathlib.Path:
    """The destination_directory of the ingester under test."""
    return tmp_path / "dest"


@pytest.fixture
def make_ingester(
    moto_endpoint: str, bucket: str, dest: pathlib.Path
) -> Callable[..., AsyncS3Ingester]:
    """An AsyncS3Ingester on this test's bucket and destination; override any option."""

    def make(prefix: str = "data/", **options: Any) -> AsyncS3Ingester:
        options.setdefault("endpoint_url", moto_endpoint)
        options.setdefault("destination_directory", dest)
        options.setdefault("dataset_id", "ds")
        return AsyncS3Ingester(bucket, prefix, **options)

    return make


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
