"""TLS connections served on worker threads, so decryption leaves the event loop's core.

asyncio's TLS transport decrypts every byte on the loop's thread, in records of at most
16 KiB, each one a trip through its SSL protocol: on a large download that one core is
the limit, however many requests are in flight. Here a TLS connection is a blocking
``ssl.SSLSocket`` instead, and everything that touches it (the handshake, the request,
the response head, the body) runs on a receive thread of the pool (:mod:`.pump`), as
the blocking operations of :mod:`.tls_io`. OpenSSL releases the GIL while it reads and
decrypts, so requests in flight decrypt on every core; the loop hands out the work and
waits. A body bound for a file is received and written at its offset by the same thread,
so its bytes never cross to the loop.

Only one thread uses a connection at a time: the response's reads come one after
another, and a cancelled read shuts the socket down and waits for its thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ssl

from . import tls_io
from .connection import ConnectionState
from .parse import Head, HttpError, parse_head
from .proxy import Proxy
from .pump import PUMP_THRESHOLD, ReceivePool


class TlsConnection(ConnectionState):
    """One keep-alive TLS connection, used from the loop, served on receive threads."""

    def __init__(self, sock: ssl.SSLSocket, receiver: ReceivePool) -> None:
        super().__init__()
        self._sock = sock
        self._receiver = receiver
        self._request = b""
        self._parked_on: asyncio.AbstractEventLoop | None = None

    @classmethod
    async def open(
        cls,
        receiver: ReceivePool,
        address: tuple[str, int],
        tls: ssl.SSLContext,
        timeout: float | None,
        proxy: Proxy | None,
    ) -> TlsConnection:
        """Connect (through ``proxy``'s tunnel if given) and shake hands, on a thread."""
        job = receiver.submit(tls_io.connect_tls, address, tls, timeout, proxy)
        try:
            sock = await asyncio.shield(asyncio.wrap_future(job))
        except asyncio.CancelledError:  # a connect cannot be interrupted: close it when done
            job.add_done_callback(_close_connected)
            raise
        return cls(sock, receiver)

    def send(self, data: bytes) -> None:
        """Queue the request; it goes out with the next head read, on the same thread."""
        if self.closed:
            raise self.broken("before the request was sent")
        self._request += data

    async def read_head(self, timeout: float | None) -> Head:
        """Send what is queued, then the status line and headers; the bytes that came
        after them stay for the body."""
        request, self._request = self._request, b""
        received, self._spill = self._spill, bytearray()  # an interim response's rest
        job = (tls_io.exchange, self._sock, request, received, timeout)
        try:
            head, self._spill = await self._receiver.run(self._sock, *job)
        except HttpError:
            self.closed = True
            raise
        except OSError as exc:
            if isinstance(exc, asyncio.TimeoutError):
                raise
            self.closed, self.error = True, exc
            self.received_any = self.received_any or (
                isinstance(exc, tls_io.EndedEarly) and exc.partial
            )
            raise self.broken("before the response head was complete") from None
        self.received_any = True
        return parse_head(head)

    async def readinto(self, view: memoryview, timeout: float | None, *, fill: bool) -> int:
        """Bytes already received (up to ``len(view)``), else what arrives next, or with
        ``fill`` all of ``view``: fewer only if the connection ended (0 if nothing came)."""
        count = self._take_spill(view)
        if count and (not fill or count == len(view)):
            return count
        if self.closed:
            return count
        wanted = len(view) - count
        got, error = await self._receiver.run(
            self._sock, tls_io.receive, self._sock, view[count:], timeout, fill
        )
        return count + self._took(got, wanted if fill else 1, error)

    def can_write_file(self, size: int) -> bool:
        """A read worth a thread's file buffer; smaller ones go to the reader's buffer."""
        return not self.closed and size >= PUMP_THRESHOLD

    async def into_file(self, fd: int, offset: int, count: int, timeout: float | None) -> int:
        """Up to ``count`` body bytes received and written to ``fd`` at ``offset`` by a
        receive thread; fewer only if the connection ended (0 if nothing came). Bytes
        already received are taken first (:meth:`take_leftover`)."""
        assert not self._spill, "bytes received with the head are taken first"
        got, error = await self._receiver.run(
            self._sock, tls_io.receive_to_file, self._sock, fd, offset, count, timeout
        )
        return self._took(got, count, error)

    def park(self) -> None:
        """While idle, the loop watches the socket, so a server's close is answered and
        noticed at once (as asyncio's own transports do), not on the next request."""
        with contextlib.suppress(RuntimeError):  # no running loop: noticed on reuse
            loop = asyncio.get_running_loop()
            loop.add_reader(self._sock.fileno(), self._on_idle_input)
            self._parked_on = loop

    def unpark(self) -> None:
        if self._parked_on is not None:
            self._parked_on.remove_reader(self._sock.fileno())
            self._parked_on = None

    def _on_idle_input(self) -> None:
        """Something arrived on an idle connection: a TLS message that is not data (a
        session ticket) keeps it; the server's close, or bytes nobody asked for, end it."""
        self._sock.setblocking(False)
        try:
            self._sock.recv(1)
        except ssl.SSLWantReadError:
            return
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        self.unpark()
        self.closed = True
        self._sock.close()


def _close_connected(job: concurrent.futures.Future[ssl.SSLSocket]) -> None:
    if not job.cancelled() and job.exception() is None:
        job.result().close()
