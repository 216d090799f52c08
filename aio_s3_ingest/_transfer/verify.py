"""Whether a file's bytes are the object's: S3's checksum against the local bytes.

The expected checksum comes with the GET of a whole object, or from a HEAD for an object
fetched in ranges (S3 returns none on a ranged GET). The bytes are checked where they
lie before the rename: in memory for a small object, read back from the temp file
otherwise (see :mod:`aio_s3_ingest._integrity.digest`). A composite checksum (a multipart
upload's, ``-N``) joins the checksums of the upload's parts, so their boundaries are
learnt from S3 first: a HEAD of part 1 gives the part size, which all parts but the last
share when the uploader split evenly, as SDKs do; only if that guess does not match is
each part's size asked for.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import anyio

from .._integrity.algorithms import Algorithm, usable
from .._integrity.digest import b64, composite, file_digest, memory_digest, part_digests
from .._integrity.expected import Checksum, from_etag, from_headers
from .._log import logger
from .._models import ObjectInfo
from ..errors import ChecksumMismatchError, IntegrityError

if TYPE_CHECKING:
    from .context import TransferContext

Source = memoryview | pathlib.Path
"""The bytes to check: in memory, or the temp file holding exactly the object."""

# Memory above this is hashed on a worker thread, not on the loop's.
_INLINE_LIMIT = 1024 * 1024


async def expected_checksum(ctx: TransferContext, obj: ObjectInfo) -> Checksum | None:
    """The object's checksum from a HEAD, for an object fetched in ranges."""
    if ctx.verify == "off" or not obj.size:
        return None
    return expected_in(ctx, obj, await ctx.getter.head(obj, ctx.retry.attempts(ctx.run)))


def expected_in(
    ctx: TransferContext, obj: ObjectInfo, headers: Mapping[str, str]
) -> Checksum | None:
    """The checksum a response's headers give for ``obj``: S3's, or with ``verify="etag"``
    the MD5 a single-part object's ETag is, where S3 has none."""
    checksum = from_headers(headers)
    if checksum is None and ctx.verify == "etag":
        checksum = from_etag(obj.etag, headers)
    return checksum


async def verified(
    ctx: TransferContext, obj: ObjectInfo, expected: Checksum | None, source: Source
) -> str | None:
    """The checksum the bytes were verified against (``str(Checksum)``), or None when there
    is nothing to verify against; raises :class:`ChecksumMismatchError` if they differ."""
    if ctx.verify == "off" or not obj.size:
        return None
    algorithm = _algorithm(ctx, obj, expected)
    if algorithm is None or expected is None:
        return None
    if expected.parts:
        got = await _composite(ctx, obj, expected, algorithm, source)
    else:
        got = b64(await _digest(algorithm, source, obj.size))
    return checked(obj, expected, got)


def checked(obj: ObjectInfo, expected: Checksum, got: str) -> str:
    """``str(expected)`` if the bytes' checksum ``got`` is S3's; else raises
    :class:`ChecksumMismatchError`."""
    if got != expected.value:
        raise ChecksumMismatchError(obj.key, expected.algorithm, expected.value, got)
    return str(expected)


def _algorithm(
    ctx: TransferContext, obj: ObjectInfo, expected: Checksum | None
) -> Algorithm | None:
    if expected is None:
        if ctx.verify == "require":
            raise IntegrityError(obj.key, "S3 returned no checksum for it (verify='require')")
        if ctx.verify == "etag":
            logger.debug("%r: no checksum, and its ETag is no MD5 (multipart or KMS)", obj.key)
        return None
    algorithm = usable(expected.algorithm)
    if algorithm is None and ctx.verify == "require":
        why = f"its {expected.algorithm} checksum cannot be computed here"
        raise IntegrityError(obj.key, f"{why} (verify='require'; try aio-s3-ingest[crt])")
    return algorithm


async def _digest(algorithm: Algorithm, source: Source, size: int) -> bytes:
    if isinstance(source, pathlib.Path):
        return await file_digest(algorithm, source, size)
    if len(source) <= _INLINE_LIMIT:
        return memory_digest(algorithm, source)
    return await anyio.to_thread.run_sync(memory_digest, algorithm, source)


async def _composite(
    ctx: TransferContext, obj: ObjectInfo, expected: Checksum, algorithm: Algorithm, source: Source
) -> str:
    parts, guessed = await _even_parts(ctx, obj, expected.parts)
    got = b64(composite(algorithm, await _part_digests(algorithm, source, parts)))
    if got != expected.value and guessed:
        parts = await _exact_parts(ctx, obj, expected.parts)
        got = b64(composite(algorithm, await _part_digests(algorithm, source, parts)))
    return got


async def _part_digests(
    algorithm: Algorithm, source: Source, parts: Sequence[tuple[int, int]]
) -> list[bytes]:
    if isinstance(source, pathlib.Path):
        return await part_digests(algorithm, source, parts)
    return [await _digest(algorithm, source[start:end], end - start) for start, end in parts]


async def _even_parts(
    ctx: TransferContext, obj: ObjectInfo, count: int
) -> tuple[list[tuple[int, int]], bool]:
    """The parts' bounds if all but the last have part 1's size, and whether that is a
    guess (True) or the only split possible (one part)."""
    if count == 1:
        return [(0, obj.size)], False
    step = await _part_size(ctx, obj, 1)
    if not (count - 1) * step < obj.size <= count * step:
        return await _exact_parts(ctx, obj, count), False
    return [(start, min(start + step, obj.size)) for start in range(0, obj.size, step)], True


async def _exact_parts(ctx: TransferContext, obj: ObjectInfo, count: int) -> list[tuple[int, int]]:
    """Each part's bounds, one HEAD per part (only for an upload split unevenly)."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for part in range(1, count + 1):
        size = await _part_size(ctx, obj, part)
        bounds.append((start, start + size))
        start += size
    if start != obj.size:
        raise IntegrityError(obj.key, f"its {count} parts hold {start} bytes, not {obj.size}")
    return bounds


async def _part_size(ctx: TransferContext, obj: ObjectInfo, part: int) -> int:
    headers = await ctx.getter.head(obj, ctx.retry.attempts(ctx.run), part)
    length = headers.get("content-length", "")
    if not length.isdigit():
        raise IntegrityError(obj.key, f"a HEAD of part {part} gave no Content-Length")
    return int(length)
