"""The lean HTTP/1.1 client over TLS, against a loopback server with a throwaway CA."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import ssl
from typing import Any

import pytest
import trustme

from aio_s3_ingest._http.pool import HttpError, HttpPool
from tests._scripted_server import HOST, read_body, within


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


class _TlsServer:
    """An HTTPS server for ``localhost`` answering every request with ``body``."""

    def __init__(self, ca: trustme.CA, body: bytes) -> None:
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost").configure_cert(self._context)
        self._response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        self._handlers: set[asyncio.Task[Any]] = set()
        self.connections = 0
        self.port = 0

    async def __aenter__(self) -> _TlsServer:
        self._server = await asyncio.start_server(self._serve, HOST, 0, ssl=self._context)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._handlers:  # the client hung up: each handler ends on its own
            await asyncio.wait(self._handlers, timeout=5)
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(self._response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()


def _tls_pool(port: int, context: ssl.SSLContext) -> HttpPool:
    return HttpPool("localhost", port, tls=context, limit=2, connect_timeout=5, read_timeout=5)


@pytest.mark.asyncio
async def test_tls_bodies_arrive_byte_exact_on_a_kept_alive_connection(
    certificate_authority: trustme.CA,
) -> None:
    """Over TLS (verified against the CA), a multi-MiB body is received into the caller's
    buffer byte-exact, twice, on one connection."""
    body = random.Random(7).randbytes(3 * 1024 * 1024 + 17)
    client_context = ssl.create_default_context()
    certificate_authority.configure_trust(client_context)
    async with _TlsServer(certificate_authority, body) as server:
        pool = _tls_pool(server.port, client_context)
        try:
            for _ in range(2):
                response = await within(pool.get("/obj", {"Host": f"localhost:{server.port}"}))
                received = await within(read_body(response, chunk=1024 * 1024))
                response.close()
                assert hashlib.sha256(received).digest() == hashlib.sha256(body).digest()
            assert server.connections == 1
        finally:
            pool.close()


@pytest.mark.asyncio
async def test_tls_refuses_a_certificate_it_cannot_verify(
    certificate_authority: trustme.CA,
) -> None:
    """A server certificate from a CA the client does not trust is a connection error that
    names the address, not a response."""
    async with _TlsServer(certificate_authority, b"hello") as server:
        pool = _tls_pool(server.port, ssl.create_default_context())
        try:
            with pytest.raises(HttpError, match=f"localhost:{server.port}.*CERTIFICATE_VERIFY"):
                await within(pool.get("/obj", {"Host": f"localhost:{server.port}"}))
        finally:
            pool.close()
