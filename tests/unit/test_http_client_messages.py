"""The lean HTTP/1.1 client (``_http``): the request it sends, and how it reads an answer."""

from __future__ import annotations

import asyncio
import re

import pytest

from aio_s3_ingest._http.parse import HttpError
from aio_s3_ingest._http.pool import Response
from tests._scripted_server import (
    HOST,
    OK,
    Peer,
    ScriptedServer,
    either_scheme,  # noqa: F401
    get_body,
    read_body,
    replying,
    within,
)

# Every test here runs over plain HTTP and over TLS (a connection on receive threads).
pytestmark = pytest.mark.usefixtures("either_scheme")


async def _read_into(response: Response, view: memoryview, size: int) -> int:
    """Call ``readinto`` on the rest of ``view`` until ``size`` bytes are in, each call
    returning some; how many bytes it filled."""
    filled = 0
    while filled < size:
        count = await response.readinto(view[filled:])
        assert count > 0
        filled += count
    return filled


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "reason"), [(200, "OK"), (206, "Partial Content")])
async def test_get_sends_the_request_as_given_and_fills_the_view_with_the_body(
    status: int, reason: str
) -> None:
    """The request is ``GET target HTTP/1.1`` plus the headers exactly as given; the
    response has its status, lower-cased headers and length; the body fills the view
    exactly, never past its end, and then readinto returns 0."""
    head = (
        f'HTTP/1.1 {status} {reason}\r\nContent-Length: 10\r\nETag: "e1"\r\n'
        "X-Amz-Request-Id: R1\r\n\r\n"
    ).encode()
    async with ScriptedServer(replying(head + b"0123456789")) as server:
        pool = server.pool()
        headers = {
            "Host": f"{HOST}:{server.port}",
            "Range": "bytes=0-9",
            "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
        }
        response = await pool.get("/bucket/a%20key?partNumber=1", headers)
        assert response.status == status
        assert response.headers == {
            "content-length": "10",
            "etag": '"e1"',
            "x-amz-request-id": "R1",
        }
        assert response.content_length == 10
        buffer = bytearray(b"\xff" * 16)
        view = memoryview(buffer)
        filled = await _read_into(response, view, 10)
        assert filled == 10
        assert buffer == b"0123456789" + b"\xff" * 6
        assert await response.readinto(view) == 0
        response.release()
        assert server.requests == [
            b"GET /bucket/a%20key?partNumber=1 HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{server.port}\r\n".encode()
            + b"Range: bytes=0-9\r\nX-Amz-Content-SHA256: UNSIGNED-PAYLOAD\r\n\r\n"
        ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("framing", "parts"),
    [
        ("Content-Length: 11", [b"<Error/>\n", b"\n\n"]),
        (
            "Transfer-Encoding: Chunked",
            [b"5;x=y\r\n<Erro\r\n", b"6\r\nr/>\n\n\n\r\n0\r\nT: t\r\n\r\n"],
        ),
        ("Connection: close", [b"<Error/>\n", b"\n\n"]),
    ],
)
async def test_read_all_returns_an_error_body(framing: str, parts: list[bytes]) -> None:
    """read_all() returns the whole body by its length, chunked (while the server keeps
    the connection open after the last chunk), or up to the close."""

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(f"HTTP/1.1 500 Internal Server Error\r\n{framing}\r\n\r\n".encode())
        for part in parts:
            await asyncio.sleep(0.01)
            await peer.send(part)
        if framing != "Connection: close":
            await peer.hold()

    async with ScriptedServer(script) as server:
        pool = server.pool()
        response = await pool.get("/error", server.headers())
        assert await within(response.read_all()) == b"<Error/>\n\n\n"
        response.release()


@pytest.mark.asyncio
async def test_interim_responses_are_skipped() -> None:
    """100 Continue (and 103 Early Hints) before the 200: get() returns the 200."""
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    async with ScriptedServer(replying(interim + OK)) as server:
        pool = server.pool()
        response = await pool.get("/", server.headers())
        assert response.status == 200
        assert response.headers == {"content-length": "5"}
        assert await read_body(response) == b"hello"
        response.release()


@pytest.mark.asyncio
@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb"])
async def test_a_header_value_with_a_line_break_is_refused_before_sending(value: str) -> None:
    """ValueError, no connection made, and the pool's one slot is still free."""
    async with ScriptedServer(replying(OK)) as server:
        pool = server.pool(limit=1)
        with pytest.raises(ValueError, match="X-Meta holds a line break"):
            await pool.get("/", {**server.headers(), "X-Meta": value})
        assert server.connections == 0
        assert await within(get_body(pool, server, "/ok")) == b"hello"
        assert server.log == ["/ok"]


@pytest.mark.asyncio
async def test_a_malformed_status_line_raises_http_error() -> None:
    """Something that is not HTTP answers: HttpError, and the slot is given back."""
    async with ScriptedServer(replying(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")) as server:
        pool = server.pool(limit=1)
        for _ in range(2):
            with pytest.raises(HttpError, match=re.escape("not an HTTP/1.x response: 'SSH-2.0")):
                await within(pool.get("/", server.headers()))
        assert server.connections == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("head", "length"),
    [
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", 0),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 0),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", -1),
    ],
    ids=["304", "204", "both-length-and-chunked"],
)
async def test_the_body_length_follows_the_status_and_the_transfer_encoding(
    head: bytes, length: int
) -> None:
    """204 and 304 have no body whatever the headers say; with a Transfer-Encoding the
    Content-Length does not count (so the GET path hands such a response to botocore)."""
    async with ScriptedServer(replying(head)) as server:
        response = await within(server.pool().get("/x", server.headers()))
        assert response.content_length == length
        if length == 0:
            assert await within(response.read_all()) == b""
        response.close()
