"""Where a body's bytes go: into memory for a small object, a whole object's temp file
(spliced, or from a buffer), or a range's temp file."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import aiofiles.threadpool.binary

from .._local.layout import pieces, write_all
from .._s3.getter import FileBody
from .buffers import Lease


class Sink(Protocol):
    """Where a body's bytes go: the body is read straight into ``space(n)`` (at most
    ``n`` bytes, fewer if the sink's buffer is smaller), then ``commit(n)`` takes the
    first ``n`` bytes of it."""

    def space(self, size: int, /) -> memoryview: ...

    async def commit(self, size: int, /) -> None: ...


class MemorySink:
    """A small body received in place into bytes of its own, then written whole."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self._position = 0

    def space(self, size: int, /) -> memoryview:
        return self.data[self._position : self._position + size]

    async def commit(self, size: int, /) -> None:
        self._position += size


class FileSink:
    """One range's temp-file handle and buffer lease. A filled buffer is written at the
    range's position, in one hop to a worker thread (in pieces: see
    :data:`aio_s3_ingest._local.layout.WRITE_BYTES`); or the body is spliced to the file
    at that position (:meth:`splice`), the buffer never taken."""

    def __init__(
        self,
        handle: aiofiles.threadpool.binary.AsyncBufferedReader,
        lease: Lease,
        position: int,
    ) -> None:
        self._handle = handle
        self._lease = lease
        self._position = position
        self._moved = False  # the handle's position is behind: bytes went in by splice

    def space(self, size: int, /) -> memoryview:
        return self._lease.view()[:size]

    async def commit(self, size: int, /) -> None:
        if self._moved:
            await self._handle.seek(self._position)
            self._moved = False
        await self._handle.writelines(pieces(self._lease.view()[:size]))
        self._position += size

    async def splice(self, body: FileBody, size: int) -> int:
        """Up to ``size`` bytes of ``body`` into the file at the range's position."""
        count = await body.splice_into(self._handle.fileno(), self._position, size)
        self._position += count
        self._moved = True
        return count


class WholeFileSink:
    """An object up to a chunk: spliced into a temp file opened on the first splice, or,
    where the body cannot splice (TLS, the botocore getter), received into the lease's
    buffer, which is taken only then.

    Spliced, such an object costs the loop no write at all (figures:
    benchmarks/README.md, "Design figures behind the code").
    """

    def __init__(self, lease: Lease, open_temp: Callable[[], Awaitable[tuple[pathlib.Path, int]]]):
        self._lease = lease
        self._open_temp = open_temp
        self.temp: pathlib.Path | None = None
        self._fd: int | None = None
        self._position = 0  # bytes received so far, spliced or buffered
        self._in_file = 0  # how many of them are in the file

    @property
    def spliced(self) -> bool:
        return self.temp is not None

    @property
    def data(self) -> memoryview:
        """The buffered bytes of a body that never spliced."""
        return self._lease.view()[: self._position]

    def space(self, size: int, /) -> memoryview:
        return self._lease.view()[self._position : self._position + size]

    async def commit(self, size: int, /) -> None:
        self._position += size

    async def splice(self, body: FileBody, size: int) -> int:
        if self.temp is None:
            self.temp, self._fd = await self._open_temp()
        assert self._fd is not None, "closed"
        self.flush()  # rare: only a body resumed on a connection that can splice
        count = await body.splice_into(self._fd, self._position, size)
        self._position += count
        self._in_file = self._position
        return count

    def flush(self) -> None:
        """Blocking: buffered bytes not yet in the file are written to it."""
        if self._fd is not None and self._in_file < self._position:
            write_all(self._fd, self._lease.view()[self._in_file : self._position], self._in_file)
            self._in_file = self._position

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Blocking: the descriptor closed and the temp file removed, if there is one."""
        self.close()
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
