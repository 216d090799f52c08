"""Large body reads are received on worker threads (``_http.pump``; over TLS, every read):
the same bytes, errors and timeouts as on the loop, a trickle below the wake-up mark
(``_http.low_water``) is not silence, and nothing is written into a buffer once the read
has returned or been cancelled."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import threading

import pytest

import aio_s3_ingest._http.low_water
from aio_s3_ingest._http.pool import HttpError
from aio_s3_ingest._http.pump import PUMP_THRESHOLD
from tests._scripted_server import (
    Peer,
    ScriptedServer,
    body_then_ok,
    partial_head,
    pumped_scheme,  # noqa: F401
    read_body,
    replying,
    sending_then_holding,
    sending_then_reset,
    within,
)

# Plain bodies are received on threads from a duplicate of the loop's socket, TLS bodies
# from the blocking TLS socket: both take the same faults the same way.
pytestmark = pytest.mark.usefixtures("pumped_scheme")

MiB = 1024 * 1024


def _receive_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("aio-s3-ingest-recv")}


@pytest.mark.asyncio
async def test_a_large_body_read_a_mebibyte_at_a_time_arrives_byte_exact_on_worker_threads() -> (
    None
):
    """8 MiB + 5 bytes read into 1 MiB views: every view but the last comes back full,
    the bytes are exact, a receive thread did the reading, and the connection (its
    transport paused meanwhile) serves the next GET."""
    body = random.Random(11).randbytes(8 * MiB + 5)

    async with ScriptedServer(body_then_ok(body)) as server:
        pool = server.pool()
        response = await within(pool.get("/large", server.headers()))
        buffer = memoryview(bytearray(MiB))
        digest, counts = hashlib.sha256(), []
        while count := await within(response.readinto(buffer)):
            digest.update(buffer[:count])
            counts.append(count)
        response.release()
        assert digest.digest() == hashlib.sha256(body).digest()
        assert counts[1:-1] == [MiB] * (len(counts) - 2)
        assert sum(counts) == len(body)
        assert _receive_threads(), "no receive thread ran"
        second = await within(pool.get("/next", server.headers()))
        assert await within(read_body(second)) == b"hello"
        second.release()
        assert server.connections == 1


@pytest.mark.asyncio
async def test_a_body_cut_short_on_the_pump_path_returns_its_bytes_then_raises() -> None:
    """Content-Length 4 MiB, but 300 KiB and a close: the first read returns exactly those
    bytes, the next raises HttpError (a ConnectionError, so the transfer resumes)."""
    sent = random.Random(12).randbytes(300 * 1024)
    async with ScriptedServer(replying(partial_head(4 * MiB) + sent, per_connection=1)) as server:
        pool = server.pool()
        response = await within(pool.get("/cut", server.headers()))
        buffer = memoryview(bytearray(MiB))
        count = await within(response.readinto(buffer))
        assert bytes(buffer[:count]) == sent
        with pytest.raises(HttpError, match="body bytes still to come"):
            await within(response.readinto(buffer))
        response.release()


@pytest.mark.asyncio
async def test_a_reset_mid_body_on_the_pump_path_raises_http_error_naming_the_reset(
    pumped_scheme: str,  # noqa: F811  (the fixture imported above)
) -> None:
    """The server resets the connection (RST) 50 ms after 200 KiB of a 2 MiB body: the
    reads return exactly those bytes, then raise HttpError whose message names the reset
    (over TLS, OpenSSL may name it as the end of the stream without TLS's close)."""
    sent = random.Random(13).randbytes(200 * 1024)

    async with ScriptedServer(sending_then_reset(partial_head(2 * MiB) + sent)) as server:
        response = await within(server.pool().get("/reset", server.headers()))
        buffer = memoryview(bytearray(MiB))
        received = bytearray()

        async def read_on() -> None:
            while True:
                count = await response.readinto(buffer)
                received.extend(buffer[:count])

        with pytest.raises(HttpError, match="body bytes still to come") as raised:
            await within(read_on())
        response.release()
        assert bytes(received) == sent
        names = ("reset",) if pumped_scheme == "http" else ("reset", "eof occurred")
        assert any(name in str(raised.value).lower() for name in names)


@pytest.mark.asyncio
async def test_silence_on_the_pump_path_raises_the_read_timeout() -> None:
    """Head and 10 body bytes, then silence with the socket open: a 1 MiB read times out
    after read_timeout (0.2 s) with the same error as on the loop."""

    async with ScriptedServer(
        sending_then_holding(partial_head(2 * MiB) + b"0123456789")
    ) as server:
        response = await within(server.pool(timeout=0.2).get("/stall", server.headers()))
        buffer = memoryview(bytearray(MiB))
        assert await within(response.readinto(buffer[:10])) == 10  # small: on the loop
        with pytest.raises(asyncio.TimeoutError, match=re.escape("no data for 0.2 s")):
            await within(response.readinto(buffer))
        response.release()


@pytest.mark.asyncio
async def test_bytes_received_before_a_stall_are_kept() -> None:
    """300 KiB of the body, then silence: the 1 MiB read returns those bytes once the
    read timeout passes (so the resume asks only for the rest), and the next read
    raises HttpError caused by the timeout."""
    sent = random.Random(13).randbytes(300 * 1024)

    async with ScriptedServer(sending_then_holding(partial_head(2 * MiB) + sent)) as server:
        response = await within(server.pool(timeout=0.2).get("/stall", server.headers()))
        buffer = memoryview(bytearray(MiB))
        count = await within(response.readinto(buffer))
        assert bytes(buffer[:count]) == sent
        with pytest.raises(HttpError, match=re.escape("no data for 0.2 s")) as caught:
            await within(response.readinto(buffer))
        assert isinstance(caught.value.__cause__, TimeoutError)
        response.release()


@pytest.mark.asyncio
async def test_a_cancelled_pumped_read_ends_at_once_and_writes_nothing_after() -> None:
    """A 1 MiB read waiting on a silent server (read timeout 30 s) is cancelled: it ends
    within a second, the connection is closed (the server sees the end of the stream),
    and bytes the server then sends never land in the buffer."""
    seen_eof = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(partial_head(2 * MiB))
        await peer.reader.read()  # returns at the client's end of stream
        seen_eof.set()
        peer.writer.write(b"x" * PUMP_THRESHOLD)

    async with ScriptedServer(script) as server:
        response = await within(server.pool(timeout=30).get("/hold", server.headers()))
        buffer = memoryview(bytearray(MiB))
        task = asyncio.ensure_future(response.readinto(buffer))
        await asyncio.sleep(0.2)
        assert _receive_threads()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await within(task, seconds=1)
        response.release()
        await within(seen_eof.wait(), seconds=5)
        await asyncio.sleep(0.1)
        assert not any(buffer)


@pytest.mark.asyncio
@pytest.mark.parametrize("option", [None, 0x7FFF], ids=["no-option", "option-refused"])
async def test_a_platform_without_the_low_water_mark_still_pumps_byte_exact(
    option: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where SO_RCVLOWAT is missing (None) or the kernel refuses it (an option number it
    does not know, as Windows answers for this one), a 3 MiB body read into 1 MiB views
    still arrives exact, and the connection serves the next GET."""
    monkeypatch.setattr(aio_s3_ingest._http.low_water, "_OPTION", option)
    body = random.Random(14).randbytes(3 * MiB + 1)

    async with ScriptedServer(body_then_ok(body)) as server:
        pool = server.pool()
        response = await within(pool.get("/large", server.headers()))
        received = await within(read_body(response, chunk=MiB))
        response.release()
        assert hashlib.sha256(received).digest() == hashlib.sha256(body).digest()
        second = await within(pool.get("/next", server.headers()))
        assert await within(read_body(second)) == b"hello"
        second.release()


@pytest.mark.asyncio
async def test_a_trickle_below_the_low_water_mark_is_not_silence() -> None:
    """A 1 MiB body sent 64 KiB every 0.15 s with a 0.25 s read timeout: the receive
    thread waits for 256 KiB at a time, which takes longer than the timeout, but bytes
    kept coming, so the read fills the whole view instead of timing out."""
    pieces = [random.Random(20 + i).randbytes(64 * 1024) for i in range(16)]

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(partial_head(MiB))
        for piece in pieces:
            await asyncio.sleep(0.15)
            await peer.send(piece)
        await peer.hold()

    async with ScriptedServer(script) as server:
        response = await within(server.pool(timeout=0.25).get("/trickle", server.headers()))
        buffer = memoryview(bytearray(MiB))
        assert await within(response.readinto(buffer)) == MiB
        assert bytes(buffer) == b"".join(pieces)
        response.release()
