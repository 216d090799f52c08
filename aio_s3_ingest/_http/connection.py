"""What the pool and a response need of a connection, whichever kind it is: plain TCP on
the event loop (:mod:`.protocol`), or TLS on receive threads (:mod:`.tls`)."""

from __future__ import annotations

from typing import Protocol

from .parse import Head, HttpError


class Connection(Protocol):
    """One keep-alive HTTP/1.1 connection: a request out, a head and its body in."""

    closed: bool
    received_any: bool  # since the last request: a connection the server closed while
    # idle fails its next request without receiving anything, and is retried

    def send(self, data: bytes) -> None: ...

    async def read_head(self, timeout: float | None) -> Head: ...

    async def readinto(self, view: memoryview, timeout: float | None, *, fill: bool) -> int: ...

    def can_write_file(self, size: int) -> bool:
        """Whether :meth:`into_file` serves a read of ``size`` bytes."""
        ...

    async def into_file(self, fd: int, offset: int, count: int, timeout: float | None) -> int:
        """Up to ``count`` body bytes put into ``fd`` at ``offset`` off the event loop."""
        ...

    def take_leftover(self, size: int) -> bytes: ...

    def leftover(self) -> int: ...

    def close(self) -> None: ...

    def broken(self, when: str) -> HttpError: ...

    def park(self) -> None:
        """The connection waits idle in the pool until :meth:`unpark`."""
        ...

    def unpark(self) -> None: ...


class ConnectionState:
    """What both kinds of connection keep: whether it ended and why, and the body bytes
    that arrived with a head and wait in memory."""

    def __init__(self) -> None:
        self._spill = bytearray()
        self.closed = False
        self.error: BaseException | None = None
        self.received_any = False

    def _take_spill(self, view: memoryview) -> int:
        """Waiting bytes into the start of ``view``: how many."""
        count = min(len(view), len(self._spill))
        view[:count] = memoryview(self._spill)[:count]
        del self._spill[:count]
        return count

    def _took(self, got: int, wanted: int, error: OSError | None) -> int:
        """After a receive thread's read: a count short of ``wanted`` ends the connection."""
        if got:
            self.received_any = True
        if got < wanted:
            self.closed = True
            self.error = self.error or error
        return got

    def take_leftover(self, size: int) -> bytes:
        """Up to ``size`` body bytes that arrived with the head and wait in memory."""
        taken = bytes(self._spill[:size])
        del self._spill[: len(taken)]
        return taken

    def leftover(self) -> int:
        return len(self._spill)

    def park(self) -> None:
        pass  # a connection the event loop reads notices a close by itself

    def unpark(self) -> None:
        pass

    def broken(self, when: str) -> HttpError:
        cause = f": {self.error}" if self.error else ""
        error = HttpError(f"connection closed {when}{cause}")
        error.__cause__ = self.error
        return error
