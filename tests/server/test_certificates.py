"""A TLS endpoint whose certificate the client cannot verify: one clear error, no retries."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from aio_s3_ingest import AsyncS3Ingester, EndpointError, IngestFailed
from aio_s3_ingest._progress import ProgressEvent, RunPlanned
from tests._helpers import MakeIngester


class _TlsFront:
    """HTTPS on 127.0.0.1 in front of the moto server, on an event loop of its own thread.

    It presents a certificate from ``trusted`` (a CA the test may give the client) until
    :meth:`distrust` switches it, for new handshakes, to one from a CA the client never
    sees, and cuts the open connections. ``handshakes`` counts every TLS handshake begun.
    """

    def __init__(self, upstream: str, trusted: trustme.CA) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self._upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self._trusted = self._context(trusted)
        self._untrusted = self._context(trustme.CA())
        self._trusted.sni_callback = self._on_hello  # called for each ClientHello, SNI or not
        self._distrusted = False
        self._lock = threading.Lock()
        self._handshakes = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-front")
        self.url = ""

    @staticmethod
    def _context(ca: trustme.CA) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        return context

    @property
    def handshakes(self) -> int:
        with self._lock:
            return self._handshakes

    def _on_hello(self, connection: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        with self._lock:
            self._handshakes += 1
            if self._distrusted:
                connection.context = self._untrusted

    def distrust(self) -> None:
        """From now on an untrusted certificate; open connections are cut."""
        with self._lock:
            self._distrusted = True
        asyncio.run_coroutine_threadsafe(self._cut_all(), self._loop).result(10)

    async def _cut_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    @contextlib.contextmanager
    def running(self, *, distrusted: bool = False) -> Iterator[_TlsFront]:
        self._distrusted = distrusted
        self._thread.start()
        start = asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._trusted)
        server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        self.url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self._stop(server), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    async def _stop(self, server: asyncio.Server) -> None:
        server.close()
        await self._cut_all()
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )
        self._writers.difference_update((writer, up_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Bytes from ``reader`` to ``writer`` until either side ends; then both end."""
    try:
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


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
    with _TlsFront(moto_endpoint, trustme.CA()).running(distrusted=True) as front:
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
    with _TlsFront(moto_endpoint, ca).running() as front:
        listed_with = 0

        def progress(event: ProgressEvent) -> None:
            nonlocal listed_with
            if isinstance(event, RunPlanned):
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
