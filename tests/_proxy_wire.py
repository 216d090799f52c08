"""HTTP/1.1 on the fault proxy's sockets: header blocks, body lengths, injected S3 errors,
and the cut that ends a response body early (an RST or a clean close)."""

from __future__ import annotations

import asyncio
import fcntl
import http
import socket
import struct
import termios

from tests._proxy_rules import Cut, Request

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection"})


async def read_headers(reader: asyncio.StreamReader) -> list[tuple[str, str]]:
    headers = []
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return headers


def encode_headers(headers: list[tuple[str, str]], *, close: bool) -> bytes:
    lines = [f"{n}: {v}\r\n" for n, v in headers if n.lower() not in _HOP_BY_HOP]
    if close:
        lines.append("Connection: close\r\n")
    return ("".join(lines) + "\r\n").encode("latin-1")


def is_checksum_header(name: str) -> bool:
    """An object checksum header (``x-amz-checksum-crc32``, ``x-amz-checksum-type``...)."""
    return name.lower().startswith("x-amz-checksum-")


def body_length(method: str, status: int, headers: list[tuple[str, str]]) -> int | None:
    if method == "HEAD" or status in (204, 304) or status < 200:
        return 0
    if any(n.lower() == "transfer-encoding" for n, _ in headers):
        raise NotImplementedError("chunked responses from upstream are not supported")
    lengths = [int(v) for n, v in headers if n.lower() == "content-length"]
    return lengths[0] if lengths else None


async def cut_body(writer: asyncio.StreamWriter, cut: Cut) -> None:
    """Make sure the bytes sent reached the peer's kernel, then end the connection."""
    writer.transport.set_write_buffer_limits(0)
    await writer.drain()
    sock: socket.socket = writer.get_extra_info("socket")
    for _ in range(200):  # TIOCOUTQ: bytes not yet acknowledged by the peer (loopback: fast)
        unsent = struct.unpack("i", fcntl.ioctl(_fd(writer, sock), termios.TIOCOUTQ, b"\0" * 4))[0]
        if unsent == 0:
            break
        await asyncio.sleep(0.005)
    await asyncio.sleep(cut.pause)
    _fd(writer, sock)  # the client may have gone during the pause (an interrupted download)
    if cut.mode == "close":
        writer.close()
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # with SO_LINGER 0: an RST, not a FIN


def _fd(writer: asyncio.StreamWriter, sock: socket.socket) -> int:
    """The socket's descriptor, or ConnectionResetError once the client has closed it."""
    fd = sock.fileno()
    if fd < 0 or writer.transport.is_closing():
        raise ConnectionResetError("the client closed the connection before the cut")
    return fd


def error_response(request: Request, status: int, code: str) -> bytes:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>injected by the test proxy</Message>"
        f"<Key>{request.key}</Key><RequestId>fault-proxy</RequestId></Error>"
    ).encode()
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
        f"Content-Type: application/xml\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    return head if request.method == "HEAD" else head + body
