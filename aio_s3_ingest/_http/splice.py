"""Plain-HTTP bodies moved from the socket to the file by the kernel, with ``splice(2)``.

Received into a buffer, each byte is copied twice: socket to buffer, then buffer to
page cache. Spliced, the socket's pages move into a pipe without a copy and are copied
once, into the page cache, by a worker thread that holds no buffer at all, which saves
both system CPU and wall time (figures: benchmarks/README.md, "Design figures behind the
code"). Linux only; TLS bodies are decrypted in user space, so they keep the buffered
path.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import threading

AVAILABLE = hasattr(os, "splice") and hasattr(select, "poll")

_F_SETPIPE_SZ = 1031  # fcntl's name for it is Linux-only and Python 3.10+ on some builds
# Moved per splice, and the pipe's size: the default pipe takes many splices per body.
# Chosen among the sizes tried by measurement (benchmarks/README.md, "Design figures
# behind the code"). 1 MiB is also the most an unprivileged process may ask for
# (fs.pipe-max-size); past fs.pipe-user-pages-soft the request is refused and the pipe
# keeps its default size.
_PIPE_BYTES = 1024 * 1024
_pipes = threading.local()


def splice_to_file(
    sock: socket.socket, fd: int, offset: int, count: int, timeout: float | None
) -> tuple[int, OSError | None]:
    """On a worker thread: up to ``count`` bytes from ``sock`` written to ``fd`` at
    ``offset``; fewer only if the stream ended or stalled, with the error that ended it
    (None for a clean end). Timeouts behave as in :meth:`.pump.ReceivePool.fill`; an error
    writing the file is raised.

    The socket is non-blocking (its asyncio transport's mode), so the thread waits in
    ``poll`` and never more than ``count`` bytes leave the socket.
    """
    reader, writer = _pipe()
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    wait_ms = -1 if timeout is None else max(1, int(timeout * 1000))
    moved = 0
    while moved < count:
        try:
            got = os.splice(
                sock.fileno(),
                writer,
                min(count - moved, _PIPE_BYTES),
                flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK,
            )
        except BlockingIOError:
            if not poller.poll(wait_ms):
                silence = f"no data for {timeout:g} s"
                if moved:  # keep what came: the resume asks only for the rest
                    return moved, TimeoutError(silence)
                raise asyncio.TimeoutError(silence) from None
            continue
        except OSError as exc:
            return moved, exc
        if not got:
            break
        _drain(reader, fd, offset + moved, got)
        moved += got
    return moved, None


def _drain(reader: int, fd: int, offset: int, count: int) -> None:
    """The pipe's ``count`` bytes into the file; on an error the pipe is dropped, as it
    may still hold some."""
    try:
        while count:
            written = os.splice(reader, fd, count, offset_dst=offset)
            if not written:
                raise OSError(f"splice into the file wrote nothing at offset {offset}")
            offset += written
            count -= written
    except BaseException:
        _drop_pipe()
        raise


class _Pipe:
    """A thread's pipe, closed when the thread ends (its thread-local goes) or on error."""

    def __init__(self) -> None:
        self.reader, self.writer = os.pipe()
        try:
            import fcntl

            fcntl.fcntl(self.writer, _F_SETPIPE_SZ, _PIPE_BYTES)
        except OSError:
            pass  # a smaller pipe only means more splices

    def __del__(self) -> None:
        os.close(self.reader)
        os.close(self.writer)


def _pipe() -> tuple[int, int]:
    """This thread's pipe, made once (splicing through it needs no buffer of ours)."""
    pipe: _Pipe | None = getattr(_pipes, "pipe", None)
    if pipe is None:
        pipe = _pipes.pipe = _Pipe()
    return pipe.reader, pipe.writer


def _drop_pipe() -> None:
    _pipes.pipe = None
