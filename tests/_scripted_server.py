"""A loopback HTTP server whose every connection a test scripts, for the ``_http`` tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import pytest
import trustme

import aio_s3_ingest._http.pool
from aio_s3_ingest._http.pool import HttpPool, Response

T = TypeVar("T")
Script = Callable[["Peer"], Awaitable[None]]
HOST = "127.0.0.1"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


class Peer:
    """The server's end of one accepted connection, as a script drives it."""

    def __init__(
        self, server: ScriptedServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        self.number = server.connections  # 1 for the first connection accepted

    async def request(self) -> bytes | None:
        """The next request head, recorded; None once the client hung up."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            return None
        self.server.requests.append(head)
        self.server.log.append(head.split(b" ")[1].decode())
        return head

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def hold(self) -> None:  # keep the socket open and silent until the test is over
        await self.server.hang_up.wait()


class ScriptedServer:
    """A TCP server on a free 127.0.0.1 port running ``script`` for every connection;
    with ``tls``, HTTPS with a certificate from that CA, which its pools trust."""

    default_ca: ClassVar[trustme.CA | None] = None  # set by the ``either_scheme`` fixture

    def __init__(self, script: Script, tls: trustme.CA | None = None) -> None:
        self._script = script
        self._ca = tls or self.default_ca
        self.requests: list[bytes] = []
        self.log: list[str] = []  # request targets, plus whatever the test notes in between
        self.connections = 0
        self.ended = asyncio.Event()  # set whenever a connection has been closed
        self.hang_up = asyncio.Event()
        self.port = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pools: list[HttpPool] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        context = None
        if self._ca is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ca.issue_cert(HOST).configure_cert(context)
        self._server = await asyncio.start_server(self._serve, HOST, 0, ssl=context)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for pool in self._pools:
            pool.close()
        self.hang_up.set()
        results: list[Any] = []
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()
            results = await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await asyncio.sleep(0)  # let client transports closed above finish closing
        for result in results:
            if isinstance(result, Exception) and exc_info[0] is None:
                raise result

    def pool(self, limit: int = 4, timeout: float = 5.0) -> HttpPool:
        """An HttpPool on this server, closed with it; ``timeout`` is its read timeout."""
        context = None
        if self._ca is not None:
            context = ssl.create_default_context()
            self._ca.configure_trust(context)
        pool = HttpPool(
            HOST, self.port, tls=context, limit=limit, connect_timeout=5, read_timeout=timeout
        )
        self._pools.append(pool)
        return pool

    def headers(self) -> dict[str, str]:
        return {"Host": f"{HOST}:{self.port}"}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._script(Peer(self, reader, writer))
        except (ConnectionError, ssl.SSLError):
            pass  # the client hung up first, which some tests do on purpose
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
            self.ended.set()


def replying(response: bytes, *, per_connection: int | None = None) -> Script:
    """Answer each request with ``response``; hang up after ``per_connection`` of them."""

    async def script(peer: Peer) -> None:
        answered = 0
        while (per_connection is None or answered < per_connection) and await peer.request():
            await peer.send(response)
            answered += 1

    return script


def partial_head(length: int) -> bytes:
    """A 206 response head announcing ``length`` body bytes."""
    return f"HTTP/1.1 206 Partial Content\r\nContent-Length: {length}\r\n\r\n".encode()


def body_then_ok(body: bytes) -> Script:
    """Answer the first GET with ``body``, every later one with OK, on one connection."""

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(partial_head(len(body)) + body)
        await replying(OK)(peer)

    return script


def sending_then_reset(data: bytes, pause: float = 0.05) -> Script:
    """Answer the first request with ``data``, then reset the connection (RST) ``pause``
    seconds later, so the client has taken every byte sent."""

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(data)
        await asyncio.sleep(pause)
        sock = peer.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.writer.transport.abort()

    return script


def sending_then_holding(data: bytes) -> Script:
    """Answer the first request with ``data``, then keep the connection open and silent."""

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(data)
        await peer.hold()

    return script


async def within(awaitable: Awaitable[T], seconds: float = 10.0) -> T:
    """The awaitable's outcome; the test fails (rather than times out) after ``seconds``."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        pytest.fail(f"still waiting after {seconds} s")
    return task.result()


async def read_body(response: Response, chunk: int = 64 * 1024) -> bytes:
    buffer = bytearray(chunk)
    parts = []
    while count := await response.readinto(memoryview(buffer)):
        parts.append(bytes(buffer[:count]))
    return b"".join(parts)


async def get_body(
    pool: HttpPool, server: ScriptedServer, target: str, *, by_close: bool = False
) -> bytes:
    """GET ``target`` from ``server``, read the body to its end, then release the
    response (or close it, ``by_close``); the body."""
    response = await pool.get(target, server.headers())
    body = await read_body(response)
    if by_close:
        response.close()  # what the transfer path calls, as for any Body
    else:
        response.release()
    return body


@pytest.fixture(params=["http", "https-loop", "https-threads"])
def either_scheme(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test over plain HTTP, and over TLS on each kind of TLS connection: the loop's
    (asyncio's TLS, what small bodies take) and the receive threads' (what large bodies
    take): the scripted servers it starts speak that scheme, and their pools trust them."""
    return _use_scheme(str(request.param), monkeypatch)


@pytest.fixture(params=["http", "https-threads"])
def pumped_scheme(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Like :func:`either_scheme`, for the connections whose bodies are received on
    threads: plain HTTP, and TLS served on receive threads."""
    return _use_scheme(str(request.param), monkeypatch)


def _use_scheme(scheme: str, monkeypatch: pytest.MonkeyPatch) -> str:
    if scheme != "http":
        monkeypatch.setattr(ScriptedServer, "default_ca", trustme.CA())
    if scheme == "https-threads":
        monkeypatch.setattr(aio_s3_ingest._http.pool, "THREADED_TLS_FROM", 0)
    return scheme
