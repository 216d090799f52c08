"""One keep-alive HTTP/1.1 connection as an asyncio ``BufferedProtocol``: the response head
parsed, body bytes received straight into the reader's buffer.

A reader is woken once its buffer is full (or the body ends), not after every ``recv``:
behind a capped connection a 1 MiB buffer fills in dozens of small reads.
Body bytes that arrive while no buffer is waiting (the previous chunk is being written)
are kept, and reading pauses until the next buffer is offered: the rest waits in the
kernel and then lands in place, instead of being copied twice on the way. Large reads
on plain TCP are received on worker threads instead (:mod:`.pump`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine

from . import splice
from .connection import ConnectionState
from .parse import Head, HttpError, parse_head
from .pump import PUMP_THRESHOLD, ReceivePool

_HEAD_LIMIT = 64 * 1024
_RECV_SIZE = 64 * 1024  # per connection; only heads and overflow land here


class LoopConnection(ConnectionState, asyncio.BufferedProtocol):
    """One keep-alive connection; bytes go to the reader's buffer when one is waiting."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receiver: ReceivePool) -> None:
        super().__init__()
        self._loop = loop
        self._receiver = receiver
        self.transport: asyncio.Transport | None = None
        self._sock: socket.socket | None = None  # a duplicate, for the receive threads
        self._pumping = False
        # A memoryview, not a bytearray: asyncio's TLS transport fills the buffer in
        # several reads into ``buf[offset:]``, which on a bytearray is a copy (3.11).
        self._scratch = memoryview(bytearray(_RECV_SIZE))
        self._target: memoryview | None = None
        self._filled = 0
        self._fill = False
        self._into_target = False
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._reading_head = False
        self._last_data = 0.0

    # Protocol side: called by the event loop.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        raw = transport.get_extra_info("socket")
        if raw is not None and transport.get_extra_info("sslcontext") is None:
            try:
                self._sock = socket.socket(fileno=socket.dup(raw.fileno()))
            except OSError:  # out of descriptors, say: this connection reads on the loop
                self._sock = None

    def get_buffer(self, sizehint: int) -> memoryview:
        target = self._target
        self._into_target = target is not None and self._filled < len(target)
        if self._into_target:
            assert target is not None
            return target[self._filled :]
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        self.received_any = True
        self._last_data = self._loop.time()
        if self._into_target:
            self._filled += nbytes
            assert self._target is not None
            if self._fill and self._filled < len(self._target):
                return  # the reader wants the whole buffer
        else:
            self._spill += self._scratch[:nbytes]
            if not self._reading_head:
                self._pause()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is not None:
            self.error = exc
        self._release_socket()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # Reader side: called by the response.

    async def _wait(self, timeout: float | None) -> None:
        """Until woken, or until no byte arrived for ``timeout`` seconds (then raise)."""
        waiter = self._loop.create_future()
        self._waiter = waiter
        self._last_data = self._loop.time()
        if timeout is not None:
            self._timer = self._loop.call_later(timeout, self._check_idle, waiter, timeout)
        try:
            await waiter
        finally:
            self._waiter = None
            if timeout is not None:
                self._timer.cancel()

    def _check_idle(self, waiter: asyncio.Future[None], timeout: float) -> None:
        if waiter.done():
            return
        idle = self._loop.time() - self._last_data
        if idle >= timeout:
            waiter.set_exception(asyncio.TimeoutError(f"no data for {timeout:g} s"))
        else:  # bytes kept coming into a buffer not yet full: not idle
            self._timer = self._loop.call_later(timeout - idle, self._check_idle, waiter, timeout)

    async def read_head(self, timeout: float | None) -> Head:
        """The status line and headers; the bytes after them stay for the body."""
        self._reading_head = True
        self._resume()
        try:
            while (end := self._spill.find(b"\r\n\r\n")) < 0:
                if len(self._spill) > _HEAD_LIMIT:
                    raise HttpError(f"response head longer than {_HEAD_LIMIT} bytes")
                if self.closed:
                    raise self.broken("before the response head was complete")
                await self._wait(timeout)
        finally:
            self._reading_head = False
        head = parse_head(self._spill[:end])
        del self._spill[: end + 4]
        return head

    async def readinto(self, view: memoryview, timeout: float | None, *, fill: bool) -> int:
        """Bytes already received (up to ``len(view)``), else what arrives next, or with
        ``fill`` all of ``view``: fewer only if the connection ended (0 if nothing came)."""
        if self._spill:
            count = self._take_spill(view)
            if fill and self._pumpable(len(view) - count):
                count += await self._pump(view[count:], timeout)
            return count
        if fill and self._pumpable(len(view)):
            return await self._pump(view, timeout)
        self._resume()
        while not self.closed:
            self._target, self._filled, self._fill = view, 0, fill
            try:
                await self._wait(timeout)
            finally:
                self._target = None
            if self._filled:
                return self._filled
            if self._spill:  # arrived while the view was full or being swapped
                return await self.readinto(view, timeout, fill=fill)
        return 0

    def _pumpable(self, size: int) -> bool:
        return self._sock is not None and size >= PUMP_THRESHOLD and not self.closed

    async def _pump(self, view: memoryview, timeout: float | None) -> int:
        """All of ``view`` received on a worker thread (see :mod:`.pump`), the
        transport's reading paused meanwhile; fewer bytes if the connection ended."""
        assert self._sock is not None
        job = self._receiver.fill(self._sock, view, timeout)
        return await self._on_thread(job, len(view))

    async def _on_thread(
        self, job: Coroutine[None, None, tuple[int, OSError | None]], wanted: int
    ) -> int:
        """Run a receive thread's ``job`` while the transport's reading is paused; a
        count short of ``wanted`` means the connection ended (its error is kept)."""
        self._pause()
        self._pumping = True
        try:
            count, error = await job
        finally:
            self._pumping = False
            if self.closed:
                self._release_socket()
        return self._took(count, wanted, error)

    def can_write_file(self, size: int) -> bool:
        return splice.AVAILABLE and self._pumpable(size)

    async def into_file(self, fd: int, offset: int, count: int, timeout: float | None) -> int:
        """Up to ``count`` body bytes moved by the kernel from the socket into ``fd`` at
        ``offset``, on a receive thread (:mod:`.splice`); fewer only if the connection
        ended (0 if nothing came). Bytes already received are taken first
        (:meth:`take_leftover`): this connection never writes a file itself."""
        assert not self._spill, "bytes received with the head are taken first"
        assert self._sock is not None
        job = self._receiver.splice(self._sock, fd, offset, count, timeout)
        return await self._on_thread(job, count)

    def send(self, data: bytes) -> None:
        if self.transport is None or self.closed or self.transport.is_closing():
            raise self.broken("before the request was sent")
        self.transport.write(data)

    def close(self) -> None:
        """Drop the connection now: no TLS close_notify exchange and no flush of unsent
        bytes, which would keep the socket open past the end of a run's event loop."""
        self.closed = True
        self._release_socket()
        if self.transport is not None:
            self.transport.abort()

    def _release_socket(self) -> None:
        if self._sock is not None and not self._pumping:
            self._sock.close()
            self._sock = None

    def _pause(self) -> None:
        if not self._paused and self.transport:
            self._paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self._paused and self.transport:
            self._paused = False
            self.transport.resume_reading()
