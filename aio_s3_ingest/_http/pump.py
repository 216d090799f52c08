"""Large body reads received on worker threads, so the kernel's copy leaves the loop's core.

Receiving a body costs the receiving thread kernel time for every byte (the copy, and
the TCP acknowledgements sent from the same call): on the loop's thread, that is most
of the loop's time on a large download while another core may sit idle (figures:
benchmarks/README.md, "Design figures behind the code"). ``recv_into`` releases the GIL,
so a worker thread that waits for and receives a buffer's worth of bytes runs beside
the loop: the loop pays one hop per buffer instead of a wakeup, a ``recv`` and two
protocol callbacks for every read it would make itself.

TLS connections are served wholly on these threads (:mod:`.tls`). For a plain TCP
connection, which asyncio's transport owns, the thread reads a duplicate of the
connection's socket while the transport's reading is paused, never more than the
view it was given (the caller caps that at the body's end), so the next response
still starts where the protocol expects it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
from collections.abc import Callable
from typing import Any, TypeVar

from .low_water import LowWater
from .splice import splice_to_file

Received = tuple[int, OSError | None]
"""Bytes moved, and the error that ended the stream early (None for a clean end)."""
_T = TypeVar("_T")

# Below this a read stays on the loop: a small read gains nothing from the hop to a
# thread (chosen by measurement: benchmarks/README.md, "Design figures behind the code").
PUMP_THRESHOLD = 128 * 1024


class ReceivePool:
    """Worker threads that fill buffers from sockets, at most one per request in flight."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    async def fill(
        self, sock: socket.socket, view: memoryview, timeout: float | None
    ) -> tuple[int, OSError | None]:
        """Receive into all of ``view``; fewer bytes only if the stream ended or stalled,
        with the error that ended it (None for a clean end).

        Once no byte came for ``timeout`` seconds (noticed within twice that, as the
        thread waits for several bytes at a time), the bytes that did come are returned
        with a ``TimeoutError``, or if none did, ``asyncio.TimeoutError`` is raised. On
        cancellation the socket is shut down and the thread waited for: once this
        returns or raises, nothing writes into ``view`` any more.
        """
        return await self.run(sock, _receive, sock, view, timeout)

    async def splice(
        self, sock: socket.socket, fd: int, offset: int, count: int, timeout: float | None
    ) -> tuple[int, OSError | None]:
        """Like :meth:`fill`, but the bytes go from the socket to ``fd`` at ``offset``
        without a buffer (:mod:`.splice`); an error writing the file is raised."""
        return await self.run(sock, splice_to_file, sock, fd, offset, count, timeout)

    async def run(self, sock: socket.socket, job_function: Callable[..., _T], *args: Any) -> _T:
        """``job_function(*args)`` on a receive thread, reading ``sock``; on cancellation
        the socket is shut down and the thread waited for (it ends at once)."""
        job = self.submit(job_function, *args)
        result = asyncio.wrap_future(job)
        try:
            return await asyncio.shield(result)
        except asyncio.CancelledError:
            result.add_done_callback(_retrieve)  # its outcome no longer matters
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, even for TLS: the thread's read ends, and
                # the TLS state, which that thread may be using, is not touched here.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            concurrent.futures.wait([job])
            raise

    def submit(self, function: Callable[..., _T], *args: Any) -> concurrent.futures.Future[_T]:
        """``function(*args)`` on a receive thread, as a future."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                self._limit, thread_name_prefix="aio-s3-ingest-recv"
            )
        return self._executor.submit(function, *args)

    def close(self) -> None:
        """Let idle threads go; a thread still filling ends with its socket."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None


def _retrieve(result: asyncio.Future[Any]) -> None:
    if not result.cancelled():
        result.exception()


def _receive(
    sock: socket.socket, view: memoryview, timeout: float | None
) -> tuple[int, OSError | None]:
    """On a worker thread: fill ``view`` until it is full or the stream ends, woken once a
    good part of it can be received (:mod:`.low_water`)."""
    sock.settimeout(timeout if timeout is not None else _NO_TIMEOUT)
    filled, size = 0, len(view)
    mark = LowWater(sock)
    try:
        while filled < size:
            mark.expect(size - filled)
            try:
                count = sock.recv_into(view[filled:])
            except TimeoutError:
                if mark.trickled():
                    continue
                silence = f"no data for {timeout:g} s"
                if filled:  # keep what came: the resume asks only for the rest
                    return filled, TimeoutError(silence)
                raise asyncio.TimeoutError(silence) from None
            if not count:
                break
            filled += count
    except asyncio.TimeoutError:
        raise  # an OSError too, from Python 3.11 on
    except OSError as exc:
        return filled, exc
    finally:
        mark.reset()
    return filled, None


# A socket with no timeout is put in blocking mode, which its asyncio transport shares;
# a day of silence stands in for "never".
_NO_TIMEOUT = 24 * 3600.0
