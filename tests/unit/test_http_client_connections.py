"""The lean HTTP/1.1 client (``_http``): connections kept alive, replaced, limited, refused."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest

from aio_s3_ingest._http.parse import HttpError
from aio_s3_ingest._http.pool import HttpPool
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


@pytest.mark.asyncio
@pytest.mark.parametrize("by_close", [False, True], ids=["release", "close"])
async def test_sequential_gets_reuse_one_kept_alive_connection(by_close: bool) -> None:
    """Bodies read to their end, then released or closed, leave the connection for the
    next GET."""
    async with ScriptedServer(replying(OK)) as server:
        pool = server.pool()
        assert await get_body(pool, server, "/1", by_close=by_close) == b"hello"
        assert await get_body(pool, server, "/2", by_close=by_close) == b"hello"
        assert await get_body(pool, server, "/3", by_close=by_close) == b"hello"
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
        assert await get_body(pool, server, "/2") == b"hello"
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
        assert await get_body(pool, server, "/1") == b"hello"
        if not takes_the_next_request:
            await within(server.ended.wait())
        assert await get_body(pool, server, "/2") == b"hello"
        assert server.log == (["/1", "/2", "/2"] if takes_the_next_request else ["/1", "/2"])
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
