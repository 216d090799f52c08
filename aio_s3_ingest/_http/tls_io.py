"""What a receive thread does with a blocking TLS socket (:mod:`.tls`): connect and shake
hands, send a request and read its response head, receive a body into a buffer or, through
a small buffer of the thread, into a file at an offset. Every function here blocks; none
touches the event loop. Errors of the stream are returned with the bytes that came, so the
caller decides what they mean; an error writing the file is raised."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading

from .low_water import LowWater
from .parse import HttpError
from .proxy import Proxy, tunnel
from .pump import Received

HEAD_LIMIT = 64 * 1024
# What a thread receives before it writes to the file: large enough that the writes are
# few, small enough that many threads in flight hold little memory.
_FILE_BUFFER = 256 * 1024
_buffers = threading.local()
# The most of a TLS record OpenSSL may hold while it waits for the rest: its largest
# payload, with room for the header, the tag and padding.
_RECORD = 16 * 1024 + 512


def connect_tls(
    address: tuple[str, int], tls: ssl.SSLContext, timeout: float | None, proxy: Proxy | None
) -> ssl.SSLSocket:
    """On a worker thread: a TCP connection (or a proxy's tunnel) with TLS on top."""
    host, port = address
    if proxy is None:
        raw = socket.create_connection(address, timeout=timeout)
    else:
        raw = tunnel(proxy, host, port, timeout)
        raw.settimeout(timeout)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return tls.wrap_socket(raw, server_hostname=host, suppress_ragged_eofs=False)
    except BaseException:
        raw.close()
        raise


class EndedEarly(ConnectionResetError):
    """The server closed the connection before a whole head came; ``partial``: some did."""

    def __init__(self, partial: bool) -> None:
        super().__init__("the server closed the connection")
        self.partial = partial


def exchange(
    sock: ssl.SSLSocket, request: bytes, data: bytearray, timeout: float | None
) -> tuple[bytes, bytearray]:
    """On a worker thread: send ``request``, then read on from ``data`` (bytes already
    received) to the end of the response head. Returns the head (without its blank line)
    and the bytes that came after it."""
    sock.settimeout(timeout)
    if request:
        sock.sendall(request)
    while (end := data.find(b"\r\n\r\n")) < 0:
        if len(data) > HEAD_LIMIT:
            raise HttpError(f"response head longer than {HEAD_LIMIT} bytes")
        try:
            chunk = sock.recv(64 * 1024)
        except TimeoutError:
            raise asyncio.TimeoutError(f"no data for {timeout:g} s") from None
        if not chunk:
            raise EndedEarly(partial=bool(data))
        data += chunk
    return bytes(data[:end]), data[end + 4 :]


def receive(sock: ssl.SSLSocket, view: memoryview, timeout: float | None, fill: bool) -> Received:
    """On a worker thread: bytes into ``view``, all of it with ``fill`` (fewer only if the
    stream ended or stalled, with the error that ended it), else what comes first.
    Timeouts behave as in :meth:`.pump.ReceivePool.fill`."""
    sock.settimeout(timeout)
    mark = LowWater(sock)
    try:
        filled, error = _fill(sock, mark, view, fill, len(view))
    finally:
        mark.reset()
    return _unless_silent(filled, error, timeout)


def receive_to_file(
    sock: ssl.SSLSocket, fd: int, offset: int, count: int, timeout: float | None
) -> Received:
    """On a worker thread: ``count`` bytes from ``sock`` to ``fd`` at ``offset`` through
    this thread's buffer; fewer only if the stream ended or stalled, with the error that
    ended it. An error writing the file is raised. One wake-up mark serves every buffer."""
    sock.settimeout(timeout)
    buffer = _buffer()
    mark = LowWater(sock)
    moved = 0
    try:
        while moved < count:
            wanted = min(len(buffer), count - moved)
            filled, error = _fill(sock, mark, buffer[:wanted], True, count - moved)
            _write_all(fd, buffer[:filled], offset + moved)
            moved += filled
            if filled < wanted:
                return _unless_silent(moved, error, timeout)
    finally:
        mark.reset()
    return moved, None


def _fill(
    sock: ssl.SSLSocket, mark: LowWater, view: memoryview, fill: bool, to_come: int
) -> Received:
    """Bytes into ``view`` until it is full (or, without ``fill``, until some came), the
    stream ends or an error stops it; the error is returned, not raised. ``to_come``: the
    body bytes still expected in all (at least ``len(view)``), which a filling read waits
    for in large steps through ``mark`` (:mod:`.low_water`): the mark counts ciphertext,
    so it stays a record below what is still to come, of which OpenSSL may hold a part.
    The caller puts the mark back once its read is over."""
    filled = 0
    try:
        while filled < len(view):
            if fill:
                mark.expect(to_come - filled - _RECORD)
            try:
                count = sock.recv_into(view[filled:])
            except TimeoutError:
                if mark.trickled():
                    continue
                raise
            if not count:
                break
            filled += count
            if not fill:
                break
    except OSError as exc:
        return filled, exc
    return filled, None


def _unless_silent(filled: int, error: OSError | None, timeout: float | None) -> Received:
    """Silence with nothing received is a timeout of the read; after some bytes it only
    ends them (the resume asks for the rest)."""
    if isinstance(error, TimeoutError):
        silence = f"no data for {timeout:g} s"
        if not filled:
            raise asyncio.TimeoutError(silence)
        return filled, TimeoutError(silence)
    return filled, error


def _write_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


def _buffer() -> memoryview:
    """This thread's receive buffer, made once."""
    view: memoryview | None = getattr(_buffers, "view", None)
    if view is None:
        view = _buffers.view = memoryview(bytearray(_FILE_BUFFER))
    return view
