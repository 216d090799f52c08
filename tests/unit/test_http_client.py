"""The lean HTTP/1.1 client (``_http``) against a loopback server each test scripts itself."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import socket

import pytest

from aio_s3_ingest._http.parse import HttpError, dechunk
from aio_s3_ingest._http.pool import HttpPool
from tests._scripted_server import (
    HOST,
    OK,
    Peer,
    ScriptedServer,
    read_body,
    replying,
    within,
)


async def _get_body(
    pool: HttpPool, server: ScriptedServer, target: str, *, by_close: bool = False
) -> bytes:
    response = await pool.get(target, server.headers())
    body = await read_body(response)
    if by_close:
        response.close()  # what the transfer path calls, as for any Body
    else:
        response.release()
    return body


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
        filled = 0
        while filled < 10:
            count = await response.readinto(view[filled:])
            assert count > 0
            filled += count
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
@pytest.mark.parametrize("by_close", [False, True], ids=["release", "close"])
async def test_sequential_gets_reuse_one_kept_alive_connection(by_close: bool) -> None:
    """Bodies read to their end, then released or closed, leave the connection for the
    next GET."""
    async with ScriptedServer(replying(OK)) as server:
        pool = server.pool()
        assert await _get_body(pool, server, "/1", by_close=by_close) == b"hello"
        assert await _get_body(pool, server, "/2", by_close=by_close) == b"hello"
        assert await _get_body(pool, server, "/3", by_close=by_close) == b"hello"
        assert server.log == ["/1", "/2", "/3"]
        assert server.connections == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("response", "read_to_end"),
    [
        (OK.replace(b"\r\n\r\n", b"\r\nConnection: Close\r\n\r\n"), True),
        (OK.replace(b"HTTP/1.1", b"HTTP/1.0"), True),
        (OK, False),
    ],
    ids=["connection-close", "http-1.0", "body-not-read-to-its-end"],
)
async def test_an_unreusable_connection_is_not_reused(response: bytes, read_to_end: bool) -> None:
    """After ``Connection: close``, an HTTP/1.0 answer or a body left unread, the next GET
    opens a new connection, though the server would keep the old one open."""
    async with ScriptedServer(replying(response)) as server:
        pool = server.pool()
        first = await pool.get("/1", server.headers())
        assert await (read_body(first) if read_to_end else first.read(2)) in (b"hello", b"he")
        first.release()
        assert await _get_body(pool, server, "/2") == b"hello"
        assert server.connections == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("takes_the_next_request", [False, True], ids=["idle", "on-reuse"])
async def test_a_kept_alive_connection_the_server_closed_is_replaced(
    takes_the_next_request: bool,
) -> None:
    """The server hangs up after the first response, while the connection is idle or once
    the next request is in (not a byte sent back): that GET succeeds on a new connection,
    sent again in the second case (the pool retries a reused connection that said nothing)."""

    async def script(peer: Peer) -> None:
        await replying(OK, per_connection=1)(peer)
        if peer.number == 1 and takes_the_next_request:
            await peer.request()

    async with ScriptedServer(script) as server:
        pool = server.pool()
        assert await _get_body(pool, server, "/1") == b"hello"
        if not takes_the_next_request:
            await within(server.ended.wait())
        assert await _get_body(pool, server, "/2") == b"hello"
        assert server.log == (["/1", "/2", "/2"] if takes_the_next_request else ["/1", "/2"])
        assert server.connections == 2


@pytest.mark.asyncio
async def test_a_truncated_body_raises_after_the_bytes_that_arrived() -> None:
    """Content-Length 100000 but 1000 bytes and a close: those bytes, then HttpError."""
    sent = random.Random(5).randbytes(1000)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    async with ScriptedServer(replying(head + sent, per_connection=1)) as server:
        pool = server.pool()
        response = await pool.get("/big", server.headers())
        received = bytearray()

        async def read_on() -> None:
            buffer = bytearray(100000)
            while True:
                count = await response.readinto(memoryview(buffer))
                received.extend(buffer[:count])

        with pytest.raises(HttpError, match="body bytes still to come") as raised:
            await within(read_on())
        response.release()
        assert isinstance(raised.value, ConnectionError)
        assert received == sent


@pytest.mark.asyncio
async def test_silence_raises_the_read_timeout() -> None:
    """read_timeout 0.2 s: a server that sends nothing times out get(); one that sends
    the head but no body, socket open, times out readinto. Each frees its slot (limit 1)."""

    async def script(peer: Peer) -> None:
        await peer.request()
        if peer.number == 2:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        await peer.hold()

    async with ScriptedServer(script) as server:
        pool = server.pool(limit=1, timeout=0.2)
        with pytest.raises(asyncio.TimeoutError, match=re.escape("no data for 0.2 s")):
            await within(pool.get("/silent", server.headers()))
        response = await within(pool.get("/stall", server.headers()))
        assert response.status == 200
        with pytest.raises(asyncio.TimeoutError, match=re.escape("no data for 0.2 s")):
            await within(response.readinto(memoryview(bytearray(10))))
        response.release()
        assert server.connections == 2


@pytest.mark.asyncio
async def test_a_refused_connection_raises_http_error_naming_the_address() -> None:
    """Nobody listens on the port: HttpError with host:port."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    pool = HttpPool(HOST, port, tls=None, limit=1, connect_timeout=5, read_timeout=5)
    with pytest.raises(HttpError, match=re.escape(f"could not connect to 127.0.0.1:{port}")):
        await pool.get("/", {"Host": f"{HOST}:{port}"})
    pool.close()


@pytest.mark.asyncio
async def test_a_large_body_read_slowly_arrives_byte_exact() -> None:
    """8 MiB read 64 KiB at a time with pauses: spilled, paused and resumed, nothing lost
    or reordered; the connection is still good for the next GET."""
    body = random.Random(8).randbytes(8 << 20)
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(head + body)
        await replying(OK)(peer)

    async with ScriptedServer(script) as server:
        pool = server.pool()
        response = await pool.get("/large", server.headers())
        digest = hashlib.sha256()
        buffer = bytearray(64 * 1024)
        total = 0
        while count := await response.readinto(memoryview(buffer)):
            digest.update(memoryview(buffer)[:count])
            total += count
            await asyncio.sleep(0)
        response.release()
        assert total == len(body)
        assert digest.hexdigest() == hashlib.sha256(body).hexdigest()
        assert await _get_body(pool, server, "/next") == b"hello"
        assert server.connections == 1


@pytest.mark.asyncio
async def test_a_third_get_waits_for_a_slot_when_the_limit_is_two() -> None:
    """With two responses held, a third GET sends nothing until one is released, then
    goes out on the connection that was given back."""
    async with ScriptedServer(replying(OK)) as server:
        pool = server.pool(limit=2)
        first = await pool.get("/1", server.headers())
        second = await pool.get("/2", server.headers())
        third = asyncio.create_task(pool.get("/3", server.headers()))
        await asyncio.sleep(0.1)  # room for a (wrong) third request to reach the server
        assert not third.done()
        assert await read_body(first) == b"hello"
        server.log.append("release /1")
        first.release()
        response = await within(third)
        assert await read_body(response) == b"hello"
        response.release()
        second.release()
        assert server.log == ["/1", "/2", "release /1", "/3"]
        assert server.connections == 2


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


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b"5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n", b"hello world"),
        (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"0\r\n\r\n", b""),
        (b"", None),
        (b"5", None),
        (b"5\r\nhel", None),
        (b"5\r\nhello\r\n", None),
        (b"5\r\nhello\r\n0\r\n", None),
        (b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n", None),
    ],
)
def test_dechunk(raw: bytes, body: bytes | None) -> None:
    """A complete chunked body (extensions and trailers skipped), or None if incomplete."""
    assert dechunk(bytearray(raw)) == body


def test_dechunk_refuses_a_bad_chunk_size() -> None:
    """A size line that is not hex is an HttpError, not a wait for more bytes."""
    with pytest.raises(HttpError, match="bad chunk size"):
        dechunk(b"zz\r\nhello\r\n0\r\n\r\n")


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
        assert await within(_get_body(pool, server, "/ok")) == b"hello"
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
async def test_a_trickling_body_fills_the_buffer_and_only_silence_times_out() -> None:
    """A body sent in 8 pieces, 0.1 s apart, with a 0.25 s read timeout: no gap is that
    long, so nothing times out though the whole takes longer; one readinto returns the
    whole buffer, not the first piece."""
    pieces = [random.Random(i).randbytes(4096) for i in range(8)]

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (8 * 4096))
        for piece in pieces:
            await asyncio.sleep(0.1)
            await peer.send(piece)
        await peer.hold()

    async with ScriptedServer(script) as server:
        pool = server.pool(timeout=0.25)
        response = await within(pool.get("/slow", server.headers()))
        buffer = bytearray(8 * 4096)
        assert await within(response.readinto(memoryview(buffer))) == len(buffer)
        assert bytes(buffer) == b"".join(pieces)
        response.release()


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
