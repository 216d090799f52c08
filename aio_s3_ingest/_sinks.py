"""Where a body's bytes go: into one buffer for a whole object, or a range's temp file."""

from __future__ import annotations

from typing import Protocol

import aiofiles.threadpool.binary

from ._buffers import Lease
from ._getter import FileBody
from ._layout import pieces


class Sink(Protocol):
    """Where a body's bytes go: the body is read straight into ``space(n)`` (at most
    ``n`` bytes, fewer if the sink's buffer is smaller), then ``commit(n)`` takes the
    first ``n`` bytes of it."""

    def space(self, size: int, /) -> memoryview: ...

    async def commit(self, size: int, /) -> None: ...


class MemorySink:
    """A body that fits one buffer, received in place into the bytes then written whole."""

    def __init__(self, data: memoryview | Lease) -> None:
        self._data = data
        self._position = 0

    @property
    def data(self) -> memoryview:
        return self._data if isinstance(self._data, memoryview) else self._data.view()

    def space(self, size: int, /) -> memoryview:
        return self.data[self._position : self._position + size]

    async def commit(self, size: int, /) -> None:
        self._position += size


class FileSink:
    """One range's temp-file handle and buffer lease. A filled buffer is written at the
    range's position, in one hop to a worker thread (in pieces: see
    :data:`._layout.WRITE_BYTES`); or the body is spliced to the file at that position
    (:meth:`splice`), the buffer never taken."""

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
