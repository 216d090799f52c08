"""The lean HTTP/1.1 client (``_http``) reading bodies: truncated, silent, large, trickling."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re

import pytest

from aio_s3_ingest._http.parse import HttpError
from tests._scripted_server import (
    OK,
    Peer,
    ScriptedServer,
    either_scheme,  # noqa: F401
    get_body,
    replying,
    within,
)

# Every test here runs over plain HTTP and over TLS (a connection on receive threads).
pytestmark = pytest.mark.usefixtures("either_scheme")


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
        assert await get_body(pool, server, "/next") == b"hello"
        assert server.connections == 1


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
