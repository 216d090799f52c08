"""Test servers on their own loop threads: the base they share, HTTPS in front of the moto
server with a CA the test chooses, and the byte pipe they use."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import urllib.parse
from collections.abc import Iterator

import trustme


class LoopServer:
    """A stream server on 127.0.0.1 whose event loop runs on a thread of its own, so the
    code under test talks to it over real sockets; subclasses say how a connection is
    served (``_serve``) and whether it speaks TLS (``_tls``)."""

    _tls: ssl.SSLContext | None = None

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=type(self).__name__)
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _cut_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Listen on a free port (``url`` names it) until the block ends, then stop."""
        self._thread.start()
        start = asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._tls)
        server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        scheme = "https" if self._tls else "http"
        self.url = f"{scheme}://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            yield
        finally:
            asyncio.run_coroutine_threadsafe(self._stop(server), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._handlers.discard(task)

    async def _stop(self, server: asyncio.Server) -> None:
        """Stop listening, cut every connection and wait until each handler has ended, so
        that no socket outlives this loop (an aborted transport closes on a later turn)."""
        server.close()
        await self._cut_all()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await server.wait_closed()
        await asyncio.sleep(0)


class TlsFront(LoopServer):
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
        self._tls = self._trusted
        self._distrusted = False
        self._lock = threading.Lock()
        self._handshakes = 0
        super().__init__()

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

    @contextlib.contextmanager
    def running(self, *, distrusted: bool = False) -> Iterator[TlsFront]:
        self._distrusted = distrusted
        with self.serving():
            yield self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True
        )
        self._writers.difference_update((writer, up_writer))


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Bytes from ``reader`` to ``writer`` until either side ends; then both end."""
    try:
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()
