"""Bodies on plain TCP spliced from the socket to the file (``_splice``): the same bytes,
errors and timeouts as reads into a buffer, at the offsets asked for, and a file error
raised as the file's, not as a broken connection."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import pathlib
import random
import re
from collections.abc import Iterator

import pytest

from aio_s3_ingest._http import splice as _splice
from aio_s3_ingest._http.pool import HttpError, Response
from aio_s3_ingest._http.pump import PUMP_THRESHOLD
from aio_s3_ingest._local.layout import DatasetLayout
from aio_s3_ingest._transfer.buffers import BufferBudget
from aio_s3_ingest._transfer.sinks import WholeFileSink
from aio_s3_ingest._transfer.writes import SmallWrites
from tests._scripted_server import (
    Peer,
    ScriptedServer,
    body_then_ok,
    partial_head,
    read_body,
    replying,
    sending_then_holding,
    sending_then_reset,
    within,
)

MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(not _splice.AVAILABLE, reason="splice(2) is Linux's")


@contextlib.contextmanager
def _opened(path: pathlib.Path, flags: int) -> Iterator[int]:
    fd = os.open(path, flags)
    try:
        yield fd
    finally:
        os.close(fd)


class _FileDestination:
    """A destination over a file from ``offset`` on, as a range's sink is: bytes that
    arrive buffered or with the head are written with pwrite, spliced ones counted."""

    def __init__(self, fd: int, offset: int) -> None:
        self._fd = fd
        self.position = offset
        self._buffer = memoryview(bytearray(MiB))
        self.spliced_bytes = 0

    def space(self, size: int) -> memoryview:
        return self._buffer[:size]

    async def commit(self, size: int) -> None:
        await self.write(self._buffer[:size])

    async def file(self) -> tuple[int, int]:
        return self._fd, self.position

    async def write(self, data: memoryview) -> None:
        assert os.pwrite(self._fd, data, self.position) == len(data)
        self.position += len(data)

    async def landed(self, size: int) -> None:
        self.position += size
        self.spliced_bytes += size


async def _splice_all(response: Response, dest: _FileDestination, step: int) -> int:
    """Copy the body ``step`` bytes at a time; the count of bytes written."""
    total = 0
    while count := await response.copy_into(dest, step):
        total += count
    return total


@pytest.mark.asyncio
async def test_a_body_lands_byte_exact_at_its_offset_and_the_connection_serves_on(
    tmp_path: pathlib.Path,
) -> None:
    """9 MiB + 7 bytes spliced 4 MiB at a time to offset 1,000 of a file: the bytes before
    are untouched, the body is exact, and the next GET reuses the connection."""
    body = random.Random(21).randbytes(9 * MiB + 7)
    path = tmp_path / "out"
    path.write_bytes(b"\xaa" * 1000)
    async with ScriptedServer(body_then_ok(body)) as server:
        pool = server.pool()
        response = await within(pool.get("/large", server.headers()))
        with _opened(path, os.O_RDWR) as fd:
            dest = _FileDestination(fd, 1000)
            assert await within(_splice_all(response, dest, 4 * MiB)) == len(body)
        response.release()
        # All but what came with the head and a last piece too short to pay for a thread.
        assert dest.spliced_bytes >= len(body) - 64 * 1024 - PUMP_THRESHOLD
        assert path.read_bytes() == b"\xaa" * 1000 + body
        second = await within(pool.get("/next", server.headers()))
        assert await within(read_body(second)) == b"hello"
        second.release()
        assert server.connections == 1


@pytest.mark.asyncio
async def test_a_body_cut_short_writes_what_came_then_raises_http_error(
    tmp_path: pathlib.Path,
) -> None:
    sent = random.Random(22).randbytes(300 * 1024)
    async with ScriptedServer(replying(partial_head(4 * MiB) + sent, per_connection=1)) as server:
        response = await within(server.pool().get("/cut", server.headers()))
        path = tmp_path / "out"
        with (
            _opened(path, os.O_RDWR | os.O_CREAT) as fd,
            pytest.raises(HttpError, match="body bytes still to come"),
        ):
            await within(_splice_all(response, _FileDestination(fd, 0), 4 * MiB))
        response.release()
        assert path.read_bytes() == sent


@pytest.mark.asyncio
async def test_a_reset_mid_body_raises_http_error_naming_it(tmp_path: pathlib.Path) -> None:
    sent = random.Random(23).randbytes(200 * 1024)

    async with ScriptedServer(sending_then_reset(partial_head(2 * MiB) + sent)) as server:
        response = await within(server.pool().get("/reset", server.headers()))
        path = tmp_path / "out"
        with (
            _opened(path, os.O_RDWR | os.O_CREAT) as fd,
            pytest.raises(HttpError, match="body bytes still to come") as raised,
        ):
            await within(_splice_all(response, _FileDestination(fd, 0), MiB))
        response.release()
        assert path.read_bytes() == sent
        assert "reset" in str(raised.value).lower()


@pytest.mark.asyncio
async def test_silence_times_out_and_bytes_before_a_stall_are_kept(tmp_path: pathlib.Path) -> None:
    """300 KiB then silence: those bytes are written, then the read timeout is raised;
    with nothing at all, the read timeout too."""
    sent = random.Random(24).randbytes(300 * 1024)

    async with ScriptedServer(sending_then_holding(partial_head(2 * MiB) + sent)) as server:
        response = await within(server.pool(timeout=0.2).get("/stall", server.headers()))
        with _opened(tmp_path / "out", os.O_RDWR | os.O_CREAT) as fd:
            dest = _FileDestination(fd, 0)
            total = 0
            while total < len(sent):  # what came with the head is written first
                total += await within(response.copy_into(dest, MiB))
            # The head may have brought every byte sent (then the wait itself times
            # out) or not (then the bytes are returned, and the connection is broken).
            silence = re.escape("no data for 0.2 s")
            with pytest.raises((HttpError, asyncio.TimeoutError), match=silence):
                await within(response.copy_into(dest, MiB))
        response.release()
        assert (tmp_path / "out").read_bytes() == sent

    async with ScriptedServer(sending_then_holding(partial_head(2 * MiB))) as server:
        response = await within(server.pool(timeout=0.2).get("/silent", server.headers()))
        with (
            _opened(tmp_path / "empty", os.O_RDWR | os.O_CREAT) as fd,
            pytest.raises(asyncio.TimeoutError, match=re.escape("no data for 0.2 s")),
        ):
            await within(response.copy_into(_FileDestination(fd, 0), MiB))
        response.release()


@pytest.mark.asyncio
async def test_a_cancelled_splice_ends_at_once_and_writes_nothing_after(
    tmp_path: pathlib.Path,
) -> None:
    seen_eof = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(partial_head(2 * MiB))
        await peer.reader.read()  # returns at the client's end of stream
        seen_eof.set()
        peer.writer.write(b"x" * 256 * 1024)

    async with ScriptedServer(script) as server:
        response = await within(server.pool(timeout=30).get("/hold", server.headers()))
        with _opened(tmp_path / "out", os.O_RDWR | os.O_CREAT) as fd:
            task = asyncio.ensure_future(response.copy_into(_FileDestination(fd, 0), MiB))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await within(task, seconds=1)
            response.release()
            await within(seen_eof.wait(), seconds=5)
            await asyncio.sleep(0.1)
        assert (tmp_path / "out").read_bytes() == b""


@pytest.mark.asyncio
async def test_a_file_that_cannot_be_written_raises_the_file_error(tmp_path: pathlib.Path) -> None:
    """A descriptor open for reading only: the OSError is the file's (EBADF), not an
    HttpError, so the transfer reports the file instead of retrying the connection."""
    body = random.Random(25).randbytes(2 * MiB)
    path = tmp_path / "read-only"
    path.write_bytes(b"")
    async with ScriptedServer(body_then_ok(body)) as server:
        response = await within(server.pool().get("/large", server.headers()))
        with (
            _opened(path, os.O_RDONLY) as fd,
            pytest.raises(OSError, match="Bad file descriptor") as raised,
        ):
            await within(_splice_all(response, _FileDestination(fd, 0), MiB))
        response.release()
        assert not isinstance(raised.value, HttpError)
        assert raised.value.errno == errno.EBADF


@pytest.mark.asyncio
async def test_a_whole_file_sink_writes_buffered_bytes_before_spliced_ones(
    tmp_path: pathlib.Path,
) -> None:
    """Bytes received into the buffer first (a body that could not splice), then bytes that
    came with a head, then spliced ones (its resume could), then buffered again: each lands
    at its offset, the buffered ones written once the file exists."""
    layout = DatasetLayout(tmp_path / "ds")
    layout.create()
    data = random.Random(3).randbytes(300_000)
    budget = BufferBudget(len(data))

    with budget.lease_for(len(data)) as lease:
        sink = WholeFileSink(lease, layout.open_temp, SmallWrites())
        try:
            sink.space(100_000)[:] = data[:100_000]
            await sink.commit(100_000)
            assert not sink.landed_any
            await sink.write(memoryview(data)[100_000:120_000])
            fd, offset = await sink.file()
            assert offset == 120_000
            assert os.pwrite(fd, data[120_000:250_000], offset) == 130_000  # as splice would
            await sink.landed(130_000)
            sink.space(50_000)[:] = data[250_000:]
            await sink.commit(50_000)
            assert sink.received == len(data)
            sink.flush()
        finally:
            sink.close()
    assert sink.temp is not None
    assert sink.temp.read_bytes() == data
    sink.discard()
    assert os.listdir(layout.temp_dir) == []
