"""Where a body's bytes go: into memory for a small object, a whole object's temp file
(put there by the body, or from a buffer), or a range's temp file. Each is a
:class:`aio_s3_ingest._http.body.Destination`: the body decides how its bytes travel,
the sink only where they land; every write to a file goes through a worker thread or
the small-writes rule (:mod:`.writes`)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Protocol

import aiofiles.threadpool.binary

from .._local.layout import pieces, write_all
from .buffers import Lease
from .writes import SmallWrites


class Sink(Protocol):
    """A destination that counts the bytes it took, so a broken body resumes after them."""

    @property
    def received(self) -> int: ...

    def space(self, size: int, /) -> memoryview: ...

    async def commit(self, size: int, /) -> None: ...

    async def file(self) -> tuple[int, int] | None: ...

    async def write(self, data: memoryview, /) -> None: ...

    async def landed(self, size: int, /) -> None: ...


class MemorySink:
    """A small body received in place into bytes of its own, then written whole."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.received = 0

    def space(self, size: int, /) -> memoryview:
        return self.data[self.received : self.received + size]

    async def commit(self, size: int, /) -> None:
        self.received += size

    async def file(self) -> None:
        return None  # memory: nothing for the body to put bytes into

    async def write(self, data: memoryview, /) -> None:
        self.data[self.received : self.received + len(data)] = data
        self.received += len(data)

    async def landed(self, size: int, /) -> None:
        raise AssertionError("a memory sink has no file")


class FileSink:
    """One range's temp-file handle and buffer lease, from ``start`` on. A filled buffer
    is written at the range's position in one hop to a worker thread (in pieces: see
    :data:`aio_s3_ingest._local.layout.WRITE_BYTES`); bytes the body puts into the file
    never take the buffer. Each write, once it returned, is told to ``journal`` (the
    partial file's, so a later run can resume after it)."""

    def __init__(
        self,
        handle: aiofiles.threadpool.binary.AsyncBufferedReader,
        lease: Lease,
        start: int,
        writes: SmallWrites,
        journal: Callable[[int, int], None] | None = None,
    ) -> None:
        self._handle = handle
        self._lease = lease
        self._start = start
        self._position = start
        self._writes = writes
        self._journal = journal
        self._moved = False  # the handle's position is behind: bytes went in past it

    @property
    def received(self) -> int:
        return self._position - self._start

    def space(self, size: int, /) -> memoryview:
        return self._lease.view()[:size]

    async def commit(self, size: int, /) -> None:
        if self._moved:
            await self._handle.seek(self._position)
            self._moved = False
        await self._handle.writelines(pieces(self._lease.view()[:size]))
        if self._journal is not None:
            await self._handle.flush()  # a short tail may wait in the handle's buffer
        await self._advance(size)

    async def file(self) -> tuple[int, int]:
        return self._handle.fileno(), self._position

    async def write(self, data: memoryview, /) -> None:
        fd, position = self._handle.fileno(), self._position
        await self._writes.run(lambda: write_all(fd, data, position))
        self._moved = True
        await self._advance(len(data))

    async def landed(self, size: int, /) -> None:
        self._moved = True
        await self._advance(size)

    async def _advance(self, size: int) -> None:
        start, self._position = self._position, self._position + size
        if self._journal is not None:
            journal = self._journal
            await self._writes.run(lambda: journal(start, start + size))


class WholeFileSink:
    """An object up to a chunk: put into a temp file by the body (spliced on plain HTTP,
    written by a receive thread on TLS), the file opened when the body first asks, or,
    where the body cannot (the botocore getter, a small read), received into the lease's
    buffer, which is taken only then. Put there by the body, such an object costs the
    loop no write at all (figures: benchmarks/README.md, "Design figures behind the code")."""

    def __init__(
        self,
        lease: Lease,
        open_temp: Callable[[], tuple[pathlib.Path, int]],
        writes: SmallWrites,
    ) -> None:
        self._lease = lease
        self._open_temp = open_temp
        self._writes = writes
        self.temp: pathlib.Path | None = None
        self._fd: int | None = None
        self.received = 0  # bytes taken so far, put into the file or buffered
        self._in_file = 0  # how many of them are in the file

    @property
    def landed_any(self) -> bool:
        return self.temp is not None

    @property
    def data(self) -> memoryview:
        """The buffered bytes of a body that never wrote the file itself."""
        return self._lease.view()[: self.received]

    def space(self, size: int, /) -> memoryview:
        return self._lease.view()[self.received : self.received + size]

    async def commit(self, size: int, /) -> None:
        self.received += size

    async def file(self) -> tuple[int, int]:
        """The temp file, opened on first ask, with any buffered bytes written to it first
        (rare: only a body resumed on a connection that can write the file has some)."""
        if self.temp is None:
            self.temp, self._fd = await self._writes.run(self._open_temp)
        if self._in_file < self.received:
            await self._writes.run(self.flush)
        assert self._fd is not None, "closed"
        return self._fd, self.received

    async def write(self, data: memoryview, /) -> None:
        fd, position = await self.file()
        await self._writes.run(lambda: write_all(fd, data, position))
        self.received += len(data)
        self._in_file = self.received

    async def landed(self, size: int, /) -> None:
        self.received += size
        self._in_file = self.received

    def flush(self) -> None:
        """Blocking: buffered bytes not yet in the file are written to it."""
        if self._fd is not None and self._in_file < self.received:
            write_all(self._fd, self._lease.view()[self._in_file : self.received], self._in_file)
            self._in_file = self.received

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Blocking: the descriptor closed and the temp file removed, if there is one."""
        self.close()
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
