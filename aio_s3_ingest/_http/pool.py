"""A lean HTTP/1.1 client for one origin: keep-alive GETs whose bodies land in the caller's
buffer.

aiohttp's CPU per request is a large share of what a small file costs this library in
all (figures: benchmarks/README.md, "Design figures behind the code"), and it hands body
bytes over as new objects that ``read(n)`` joins again: every byte is copied twice
before it is written. This client does the
one thing the transfer path needs, a GET with a ``Content-Length`` body, on an asyncio
``BufferedProtocol`` (:mod:`.protocol`): the kernel copies body bytes straight into
the caller's buffer (``recv_into``), which goes to the file as it is. Anything else
(redirects, bodies without a length) stays with botocore.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping

from .body import Destination, copy_buffered
from .connection import Connection
from .parse import HttpError, body_length, dechunk, keeps_alive, request_bytes
from .protocol import LoopConnection
from .proxy import Proxy, tunnel
from .pump import ReceivePool
from .tls import TlsConnection

# Over HTTPS, a response expected to carry at least this many body bytes goes on a TLS
# connection served on receive threads (:mod:`.tls`): decryption runs beside the loop,
# and memory stays bounded. Smaller ones take a connection of the loop (asyncio's TLS):
# there a small body costs no hop to a thread and back, which is most of what a small
# file costs over TLS (figures: benchmarks/README.md, "Design figures behind the code").
THREADED_TLS_FROM = 1024 * 1024

__all__ = ["HttpError", "HttpPool", "Response"]


class Response:
    """Status, headers and the ``Content-Length`` body of one GET."""

    def __init__(
        self,
        pool: HttpPool,
        connection: Connection,
        version: str,
        status: int,
        headers: dict[str, str],
        method: str = "GET",
    ) -> None:
        self._pool = pool
        self._connection = connection
        self.status = status
        self.headers = headers
        self.content_length = body_length(status, headers, method)
        self._remaining = max(self.content_length, 0)
        self._reusable = keeps_alive(version, self.content_length, headers)
        self._done = False

    async def readinto(self, view: memoryview, /) -> int:
        """Body bytes into ``view``, as many as fit unless some were already received; 0 only
        at the end of the body (or for an empty view)."""
        if self._remaining == 0 or not view:
            return 0
        if len(view) > self._remaining:
            view = view[: self._remaining]
        count = await self._connection.readinto(view, self._pool.read_timeout, fill=True)
        if count == 0:
            raise self._connection.broken(f"with {self._remaining} body bytes still to come")
        self._remaining -= count
        return count

    async def copy_into(self, dest: Destination, size: int, /) -> int:
        """Up to ``size`` body bytes into ``dest``: put into its file off the loop where
        this connection can (spliced on plain TCP on Linux for a read large enough to pay;
        received and written by a thread on TLS) and ``dest`` has a file, else received
        into its buffer. At least one byte; 0 only at the end."""
        size = min(size, self._remaining)
        if size == 0:
            return 0
        if self._connection.can_write_file(size):
            target = await dest.file()
            if target is not None:
                return await self._into_file(dest, *target, size)
        return await copy_buffered(self.readinto, dest, size)

    async def _into_file(self, dest: Destination, fd: int, offset: int, size: int) -> int:
        """Bytes that came with the head go to ``dest`` as they are; the rest is moved
        from the socket into ``fd`` at ``offset`` on a receive thread."""
        leftover = self._connection.take_leftover(size)
        if leftover:
            await dest.write(memoryview(leftover))
            count = len(leftover)
        else:
            count = await self._connection.into_file(fd, offset, size, self._pool.read_timeout)
            if count == 0:
                raise self._connection.broken(f"with {self._remaining} body bytes still to come")
            await dest.landed(count)
        self._remaining -= count
        return count

    async def read(self, size: int, /) -> bytes:
        buffer = bytearray(min(size, self._remaining))
        count = await self.readinto(memoryview(buffer)) if buffer else 0
        return bytes(buffer[:count])

    async def read_all(self, limit: int = 1 << 20) -> bytes:
        """A whole (error) body: by its length, or chunked, or up to the close."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            return await self._read_chunked(limit)
        if self.content_length < 0:
            return await self._read_to_close(limit)
        parts = []
        while chunk := await self.read(limit):
            parts.append(chunk)
        return b"".join(parts)

    def release(self) -> None:
        """Give the connection back if the body was read to its end, else close it."""
        if self._done:
            return
        self._done = True
        connection = self._connection
        reusable = self._reusable and self._remaining == 0 and not connection.leftover()
        self._pool.give_back(connection, reusable=reusable)

    close = release  # what the transfer path calls when it is done with a body

    async def _read_to_close(self, limit: int) -> bytes:
        self._reusable = False
        buffer = bytearray(limit)
        total = 0
        while total < limit:
            count = await self._connection.readinto(
                memoryview(buffer)[total:], self._pool.read_timeout, fill=False
            )
            if count == 0:
                break
            total += count
        return bytes(buffer[:total])

    async def _read_chunked(self, limit: int) -> bytes:
        self._reusable = False
        raw = bytearray()
        buffer = bytearray(64 * 1024)
        while (body := dechunk(raw)) is None:
            if len(raw) > limit:
                raise HttpError(f"chunked body longer than {limit} bytes")
            count = await self._connection.readinto(
                memoryview(buffer), self._pool.read_timeout, fill=False
            )
            if count == 0:
                raise self._connection.broken("inside a chunked body")
            raw += buffer[:count]
        return body


class HttpPool:
    """Keep-alive connections to one host, at most ``limit`` busy at a time."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        limit: int,
        connect_timeout: float | None,
        read_timeout: float | None,
        proxy: Proxy | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._tls = tls
        self._proxy = proxy
        # Through a proxy, plain HTTP names the origin in each request (absolute form).
        self._absolute = f"http://{host}:{port}" if proxy is not None and tls is None else ""
        self._proxy_headers = proxy.headers() if self._absolute and proxy else {}
        self._slots = asyncio.Semaphore(limit)
        self._idle: dict[bool, list[Connection]] = {False: [], True: []}  # by threaded
        self._receiver = ReceivePool(limit)
        self._connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    async def get(
        self, target: str, headers: Mapping[str, str], *, expect: int = 0, method: str = "GET"
    ) -> Response:
        """Send ``GET target`` (or ``method``: ``HEAD``) with ``headers`` (Host included) and
        read the response head; ``expect``: the body bytes the caller expects, which choose
        the kind of a TLS connection (see :data:`THREADED_TLS_FROM`).

        A kept-alive connection the server closed meanwhile is retried once on a new one.
        """
        threaded = self._tls is not None and expect >= THREADED_TLS_FROM
        if self._absolute:
            target, headers = self._absolute + target, {**headers, **self._proxy_headers}
        request = request_bytes(target, headers, method)
        await self._slots.acquire()
        try:
            while True:
                connection, reused = self._take_idle(threaded), True
                if connection is None:
                    connection, reused = await self._connect(threaded), False
                try:
                    connection.send(request)
                    while True:
                        version, status, fields = await connection.read_head(self.read_timeout)
                        if not 100 <= status < 200:
                            break
                    return Response(self, connection, version, status, fields, method)
                except HttpError:
                    connection.close()
                    if reused and not connection.received_any:
                        continue  # closed while idle: not a failure of this request
                    raise
                except BaseException:
                    connection.close()
                    raise
        except BaseException:
            self._slots.release()
            raise

    def close(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        self._receiver.close()

    def _take_idle(self, threaded: bool) -> Connection | None:
        idle = self._idle[threaded]
        while idle:
            connection = idle.pop()
            connection.unpark()
            if not connection.closed:
                return connection
        return None

    def give_back(self, connection: Connection, *, reusable: bool) -> None:
        """A response is done with ``connection``: keep it for the next GET when its
        exchange ended cleanly, else close it; either way its slot is free again."""
        if reusable:
            connection.received_any = False
            connection.park()
            self._idle[isinstance(connection, TlsConnection)].append(connection)
        else:
            connection.close()
        self._slots.release()

    async def _connect(self, threaded: bool) -> Connection:
        where = f"{self._host}:{self._port}"
        if self._proxy is not None:
            where += f" through the proxy {self._proxy.host}:{self._proxy.port}"
        try:
            return await asyncio.wait_for(self._open(threaded), self._connect_timeout)
        except asyncio.TimeoutError:
            raise HttpError(
                f"could not connect to {where} within {self._connect_timeout:g} s"
            ) from None
        except HttpError:
            raise
        except OSError as exc:
            raise HttpError(f"could not connect to {where}: {exc}") from exc

    async def _open(self, threaded: bool) -> Connection:
        """A new connection: straight to the origin, to the proxy (plain HTTP), or through
        a CONNECT tunnel the proxy opens to the origin (HTTPS). A threaded TLS connection
        is served on receive threads (:mod:`.tls`), any other on the loop (:mod:`.protocol`,
        over asyncio's TLS for HTTPS)."""
        address = (self._host, self._port)
        if self._tls is not None and threaded:
            timeout = self._connect_timeout
            return await TlsConnection.open(
                self._receiver, address, self._tls, timeout, self._proxy
            )
        loop = asyncio.get_running_loop()

        def protocol() -> LoopConnection:
            return LoopConnection(loop, self._receiver)

        if self._tls is None:
            if self._proxy is not None:
                address = (self._proxy.host, self._proxy.port)
            _, connection = await loop.create_connection(protocol, *address)
        elif self._proxy is None:
            _, connection = await loop.create_connection(
                protocol, *address, ssl=self._tls, server_hostname=self._host
            )
        else:
            sock = await asyncio.to_thread(
                tunnel, self._proxy, self._host, self._port, self._connect_timeout
            )
            _, connection = await loop.create_connection(
                protocol, sock=sock, ssl=self._tls, server_hostname=self._host
            )
        return connection
