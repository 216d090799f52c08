"""How a body reaches where its bytes go: the transfer names a destination and a count,
the body decides how the bytes travel (put into the destination's file off the event
loop, spliced by the kernel or written by a receive thread, or received into its
buffer), so no caller has to know which kind of body or destination it holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class Destination(Protocol):
    """Where a body's bytes go, in order: a buffer to receive into, and maybe a file."""

    def space(self, size: int, /) -> memoryview:
        """A buffer for up to ``size`` next bytes (shorter if the destination's is)."""
        ...

    async def commit(self, size: int, /) -> None:
        """The first ``size`` bytes of the last :meth:`space` are the next bytes."""
        ...

    async def file(self) -> tuple[int, int] | None:
        """The descriptor and offset the body may put the next bytes at, or None (memory)."""
        ...

    async def write(self, data: memoryview, /) -> None:
        """``data``, already received elsewhere, are the next bytes: into the file."""
        ...

    async def landed(self, size: int, /) -> None:
        """``size`` next bytes were put into the file by the body, at the offset :meth:`file`
        gave."""
        ...


async def copy_buffered(
    readinto: Callable[[memoryview], Awaitable[int]], dest: Destination, size: int
) -> int:
    """Up to ``size`` bytes received into the destination's buffer and committed once it is
    full (one write per buffer), fewer only at the end of the body (0 there).

    If the body breaks, what did arrive is committed before the error goes on, so a resume
    asks only for the rest; a cancelled copy commits nothing.
    """
    space = dest.space(size)
    filled = 0
    try:
        while filled < len(space):
            count = await readinto(space[filled:])
            if not count:
                break
            filled += count
    except Exception:
        if filled:
            await dest.commit(filled)
        raise
    if filled:
        await dest.commit(filled)
    return filled
