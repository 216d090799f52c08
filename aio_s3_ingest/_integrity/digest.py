"""Checksums of local bytes: in memory, or spans of a file read back on worker threads.

A file is checked as it lies on disk, after every range wrote its bytes, whichever way
they came (spliced from the socket, written by a receive thread, or from a buffer):
what is verified is what will be renamed into place. The read comes from the page
cache the writes just filled. A CRC that awscrt can combine is computed over spans of
the file on several threads at once and joined; any other checksum is one pass.
"""

from __future__ import annotations

import base64
import functools
import math
import os
import pathlib
from collections.abc import Sequence

import anyio

from .._tasks import run_all
from .algorithms import Algorithm, Crc, Hasher

# Read a span through a buffer this size: many files verified at once each hold one.
# (Mapping the file instead saved no CPU here, and counts the file's pages in the RSS.)
_READ_SIZE = 256 * 1024
# Spans below this are not worth a thread of their own.
_LEAST_SPAN = 32 * 1024 * 1024
_THREADS = max(1, min(8, os.cpu_count() or 1))  # for one file at a time


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def memory_digest(algorithm: Algorithm, data: memoryview | bytes) -> bytes:
    hasher = _new(algorithm)
    hasher.update(data)
    return hasher.digest()


async def file_digest(algorithm: Algorithm, path: pathlib.Path, size: int) -> bytes:
    """The checksum of ``path``'s first ``size`` bytes."""
    spans = _spans(size) if algorithm.combine is not None else [(0, size)]
    hashers = await _hash_spans(algorithm, path, spans)
    if len(hashers) == 1:
        return hashers[0].digest()
    return _joined(algorithm, hashers, spans)


async def part_digests(
    algorithm: Algorithm, path: pathlib.Path, parts: Sequence[tuple[int, int]]
) -> list[bytes]:
    """The checksum of each [start, end) part of ``path``, computed on worker threads."""
    return [hasher.digest() for hasher in await _hash_spans(algorithm, path, parts)]


def composite(algorithm: Algorithm, part_checksums: Sequence[bytes]) -> bytes:
    """S3's composite checksum: the checksum of the parts' checksums, concatenated."""
    return memory_digest(algorithm, b"".join(part_checksums))


def _spans(size: int) -> list[tuple[int, int]]:
    count = max(1, min(_THREADS, size // _LEAST_SPAN))
    step = max(1, math.ceil(size / count))
    return [(start, min(start + step, size)) for start in range(0, size, step)] or [(0, 0)]


async def _hash_spans(
    algorithm: Algorithm, path: pathlib.Path, spans: Sequence[tuple[int, int]]
) -> list[Hasher]:
    """Each span through its own hasher on worker threads; the first error (an OSError
    reading the file, say) cancels the others and is raised as itself."""
    limiter = anyio.CapacityLimiter(_THREADS)
    if len(spans) == 1:
        return [await anyio.to_thread.run_sync(_hash_span, algorithm, path, *spans[0])]
    results: list[Hasher | None] = [None] * len(spans)

    async def one(index: int, start: int, end: int) -> None:
        results[index] = await anyio.to_thread.run_sync(
            _hash_span, algorithm, path, start, end, limiter=limiter
        )

    await run_all(functools.partial(one, i, *span) for i, span in enumerate(spans))
    return [hasher for hasher in results if hasher is not None]


def _hash_span(algorithm: Algorithm, path: pathlib.Path, start: int, end: int) -> Hasher:
    """Blocking: bytes [start, end) of ``path`` through one hasher."""
    hasher = _new(algorithm)
    buffer = memoryview(bytearray(min(_READ_SIZE, max(end - start, 1))))
    fd = os.open(path, os.O_RDONLY)
    try:
        offset = start
        while offset < end:
            got = os.preadv(fd, [buffer[: min(len(buffer), end - offset)]], offset)
            if not got:
                raise EOFError(f"{path} ends at byte {offset}, before {end}")
            hasher.update(buffer[:got])
            offset += got
    finally:
        os.close(fd)
    return hasher


def _joined(
    algorithm: Algorithm, hashers: Sequence[Hasher], spans: Sequence[tuple[int, int]]
) -> bytes:
    assert algorithm.combine is not None
    value = 0
    for index, (hasher, (start, end)) in enumerate(zip(hashers, spans, strict=True)):
        assert isinstance(hasher, Crc)
        value = hasher.value if index == 0 else algorithm.combine(value, hasher.value, end - start)
    return value.to_bytes(algorithm.crc_width, "big")


def _new(algorithm: Algorithm) -> Hasher:
    if algorithm.new is None:
        raise ValueError(f"{algorithm.name} cannot be computed here")
    return algorithm.new()
