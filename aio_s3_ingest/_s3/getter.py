"""Ranged GETs pinned to an ETag, behind one small interface with two implementations.

:class:`~.botocore_getter.BotocoreGetter` goes through aiobotocore's ``get_object``: every
feature of botocore, at the CPU cost of its per-call machinery on every request.
:class:`~.direct_getter.DirectGetter` signs like botocore and sends on a lean HTTP/1.1
client, for a fraction of that; :class:`FallbackGetter` uses it, and switches to botocore
for the rest of the run the first time it meets something it does not handle (a
redirect to another region).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from .._http.body import Destination
from .._log import logger
from .._models import ObjectInfo

if TYPE_CHECKING:
    from .._retry import Attempts


class ObjectChanged(Exception):
    """The object is no longer the listed one (HTTP 412 on If-Match)."""


class UseBotocore(Exception):
    """The direct path met something only botocore handles; ``reason`` says what."""


class Body(Protocol):
    """The body of one ranged GET, and its response's headers (names lower-cased)."""

    content_length: int

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def readinto(self, view: memoryview, /) -> int:
        """Fill the start of ``view``; at least one byte, 0 only at the end of the body."""
        ...

    async def copy_into(self, dest: Destination, size: int, /) -> int:
        """Up to ``size`` bytes into ``dest``, by whatever way this body can; at least one
        byte, 0 only at the end of the body (see :mod:`aio_s3_ingest._http.body`)."""
        ...

    def close(self) -> None: ...


def whole_object(obj: ObjectInfo, start: int, end: int) -> bool:
    """Whether [start, end) is all of ``obj``: such a GET is sent without a Range, as S3
    returns an object's checksum only for the whole object."""
    return start == 0 and end == obj.size


class Getter(Protocol):
    """Opens ``bytes=start-(end-1)`` of an object, with ``If-Match`` set to its ETag, and
    asks for its checksum where the run verifies (see :func:`whole_object`).

    Every request it sends, retries too, is taken from ``attempts``, the range's budget.
    Raises :class:`ObjectChanged` on 412, a library error for any other S3 error
    (after its retries), and connection errors only for the body once it is open.
    """

    async def open(self, obj: ObjectInfo, start: int, end: int, attempts: Attempts) -> Body: ...

    async def head(
        self, obj: ObjectInfo, attempts: Attempts, part: int | None = None
    ) -> Mapping[str, str]:
        """The headers (names lower-cased) of a HEAD of the object, or of one part of a
        multipart object, pinned to its ETag, with its checksum asked for."""
        ...

    async def aclose(self) -> None: ...


class FallbackGetter:
    """The direct path until it declines once; botocore from then on."""

    def __init__(self, direct: Getter, botocore: Getter) -> None:
        self._owned = direct
        self._direct: Getter | None = direct
        self._botocore = botocore

    async def open(self, obj: ObjectInfo, start: int, end: int, attempts: Attempts) -> Body:
        if self._direct is not None:
            try:
                return await self._direct.open(obj, start, end, attempts)
            except UseBotocore as exc:
                self._decline(exc, attempts)
        return await self._botocore.open(obj, start, end, attempts)

    async def head(
        self, obj: ObjectInfo, attempts: Attempts, part: int | None = None
    ) -> Mapping[str, str]:
        if self._direct is not None:
            try:
                return await self._direct.head(obj, attempts, part)
            except UseBotocore as exc:
                self._decline(exc, attempts)
        return await self._botocore.head(obj, attempts, part)

    def _decline(self, exc: UseBotocore, attempts: Attempts) -> None:
        """The direct path declined: botocore from now on, the attempt given back."""
        logger.debug("direct GETs off for this run: %s", exc)
        self._direct = None
        attempts.give_back()

    async def aclose(self) -> None:
        await self._owned.aclose()
        await self._botocore.aclose()
