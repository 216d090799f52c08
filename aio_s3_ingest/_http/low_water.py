"""A receive thread's wake-up mark: the socket's ``SO_RCVLOWAT``, raised while it waits for
much of a body, so the kernel wakes it once a good part can be received, not for every
segment that arrives (each wake-up costs a thread switch and a turn of the GIL).

Used by both receive paths: plain bodies (:mod:`.pump`) and TLS bodies (:mod:`.tls_io`,
which waits for ciphertext and so keeps a record's worth below what is still to come).
A mark is always put back to one byte before anything else reads the socket: a response
head is far smaller than a raised mark.
"""

from __future__ import annotations

import socket
import struct

try:
    import fcntl
    import termios

    _FIONREAD: int | None = termios.FIONREAD
except ImportError:  # not a POSIX platform: a wait never ends early, and nothing trickles
    _FIONREAD = None

_OPTION: int | None = getattr(socket, "SO_RCVLOWAT", None)
# Wake the thread once this much can be received (or all that is still to come).
WAKE_BYTES = 256 * 1024


class LowWater:
    """The mark of one socket for one thread's read; ``level`` 1 is the kernel's default."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.level = 1
        self._usable = _OPTION is not None
        self._drain = False  # the next read takes what trickled in, whatever the mark

    def expect(self, nbytes: int) -> None:
        """Wake the reader once ``nbytes`` (at most :data:`WAKE_BYTES`, at least one) can be
        received; where the platform refuses the option, reads wake as they would."""
        level = max(1, min(nbytes, WAKE_BYTES))
        if self._drain:
            self._drain, level = False, 1
        if level == self.level or not self._usable:
            return
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, _OPTION or 0, level)
        except OSError:  # Windows has the name, not the option
            self._usable = False
            return
        self.level = level

    def trickled(self) -> bool:
        """After a read timed out: whether bytes had come below the mark (a trickle, not
        silence, so silence is noticed after one to two read timeouts). The mark drops
        to one byte for the next read when they had."""
        if self.level <= 1 or _FIONREAD is None:
            return False
        queued = struct.unpack("i", fcntl.ioctl(self._sock.fileno(), _FIONREAD, b"\0" * 4))[0]
        self._drain = bool(queued)
        return self._drain

    def reset(self) -> None:
        """Back to one byte, before the socket is read for anything else."""
        self.expect(1)
