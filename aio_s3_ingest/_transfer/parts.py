"""A composite checksum checked part by part, on ranges cut at the upload's parts.

A multipart upload with a composite checksum (``value-N``) keeps a checksum for each of
its N parts, which a HEAD with ``partNumber`` returns together with the part's place in
the object (``Content-Range``). Learning part 1 before the GETs start gives the part
size; the object's ranges are then cut at part boundaries where one is near, so a part
is whole on disk early and checked (read back from the page cache, on a worker thread)
while the rest download. A part that fails is fetched again alone, once, instead of the
whole object; the object's checksum is then the composite of the parts' checksums, with
no second read of the file. The other parts' checksums come from HEADs sent beside the
GETs; a resumed file's parts already on disk are checked like any other.
"""

from __future__ import annotations

import functools
import itertools
import pathlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import anyio

from .._integrity.algorithms import Algorithm, usable
from .._integrity.digest import b64, composite, part_digests
from .._integrity.expected import Checksum, from_headers
from .._models import ObjectInfo
from .._tasks import run_all
from ..errors import ChecksumMismatchError, IntegrityError
from .verify import expected_in

if TYPE_CHECKING:
    from .context import TransferContext

# Part HEADs in flight at once for one object, beside its GETs.
_HEADS_IN_FLIGHT = 4
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_MULTIPART_ETAG = re.compile(r"[0-9a-fA-F]{32}-(\d+)")


@dataclass(slots=True)
class Part:
    """One part of the upload: its bytes in the object, S3's checksum for it once a HEAD
    gave it, and where its check stands."""

    number: int
    start: int
    end: int
    checksum: str | None = None
    length: int | None = None  # from its HEAD
    placed: bool = False  # start and end are S3's, not a guess
    state: Literal["waiting", "checking", "good", "bad", "refetching"] = "waiting"
    digest: bytes = b""


class PartChecks:
    """The parts of one object with a composite checksum, each checked once its bytes are
    written and its checksum known."""

    def __init__(
        self,
        ctx: TransferContext,
        obj: ObjectInfo,
        expected: Checksum,
        algorithm: Algorithm,
        parts: list[Part],
    ) -> None:
        self._ctx = ctx
        self._obj = obj
        self.expected = expected
        self._algorithm = algorithm
        self._parts = parts
        self._written: list[tuple[int, int]] = []
        self._path: pathlib.Path | None = None

    def aligned(self, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """``ranges`` cut at this object's part boundaries (see :func:`align_ranges`)."""
        return align_ranges(ranges, self._parts, self._obj.size)

    def on_disk(self, path: pathlib.Path, ranges: list[tuple[int, int]]) -> None:
        """The file the parts are read back from, and the bytes it already holds."""
        self._path = path
        self._written = list(ranges)

    async def learn(self) -> None:
        """S3's checksum and place of every part but the first, from HEADs; each part is
        checked as soon as its own HEAD answered, if its bytes are on disk by then (the
        first, and any a resumed file holds, are checked at once)."""
        limiter = anyio.CapacityLimiter(_HEADS_IN_FLIGHT)

        async def learn_one(part: Part) -> None:
            async with limiter:
                headers = await _head_part(self._ctx, self._obj, part.number)
            self._learnt(part, headers)
            await self._check_ready()

        jobs = [functools.partial(learn_one, part) for part in self._parts[1:]]
        await run_all([self._check_ready, *jobs])  # first: parts a resumed file holds

    async def landed(self, start: int, end: int) -> None:
        """Bytes [start, end) are written: check every part they complete."""
        self._written.append((start, end))
        await self._check_ready()

    def bad(self) -> list[tuple[int, int]]:
        """The bytes of the parts that failed, marked to be fetched again."""
        failed = [part for part in self._parts if part.state == "bad"]
        for part in failed:
            part.state = "refetching"
        return [(part.start, part.end) for part in failed]

    async def recheck(self) -> None:
        """Check again the parts fetched again; the first still wrong is raised."""
        for part in self._parts:
            if part.state == "refetching" and not await self._check(part):
                raise self._mismatch(part)

    async def composite(self) -> str:
        """The object's composite checksum from its parts' (base64): every part but one
        whose HEAD gave no checksum was checked already; that one is hashed now."""
        end = 0
        for part in self._parts:
            if not part.placed or part.start != end:
                where = f"at byte {part.start}" if part.placed else "no size"
                raise IntegrityError(self._obj.key, f"S3 gave part {part.number} {where}")
            if not part.digest:
                part.digest = await self._digest(part)
            end = part.end
        if end != self._obj.size:
            raise IntegrityError(self._obj.key, f"its parts hold {end} bytes, not {self._obj.size}")
        return b64(composite(self._algorithm, [part.digest for part in self._parts]))

    def _learnt(self, part: Part, headers: Mapping[str, str]) -> None:
        learn(part, headers, self.expected.algorithm)
        place_parts(self._parts)

    async def _check_ready(self) -> None:
        for part in self._parts:
            if part.state == "waiting" and part.checksum and part.placed and self._covered(part):
                await self._check(part)

    def _covered(self, part: Part) -> bool:
        reached = part.start
        for start, end in sorted(self._written):
            if start > reached:
                break
            reached = max(reached, end)
        return reached >= part.end

    async def _check(self, part: Part) -> bool:
        """Whether the part's bytes on disk have S3's checksum for it."""
        part.state = "checking"
        part.digest = await self._digest(part)
        part.state = "good" if b64(part.digest) == part.checksum else "bad"
        return part.state == "good"

    async def _digest(self, part: Part) -> bytes:
        assert self._path is not None, "on_disk() first"
        return (await part_digests(self._algorithm, self._path, [(part.start, part.end)]))[0]

    def _mismatch(self, part: Part) -> ChecksumMismatchError:
        got = b64(part.digest)
        return ChecksumMismatchError(
            self._obj.key, self.expected.algorithm, part.checksum or "", got, part=part.number
        )


def multipart(obj: ObjectInfo) -> bool:
    """Whether the object's ETag is a multipart upload's (``"<md5 of the parts' MD5s>-N"``,
    N ≥ 2): only those may have a composite checksum."""
    match = _MULTIPART_ETAG.fullmatch(obj.etag.strip('"'))
    return match is not None and int(match[1]) >= 2


async def part_checks(
    ctx: TransferContext, obj: ObjectInfo
) -> tuple[PartChecks | None, Checksum | None]:
    """The part checks of a multipart object whose checksum is composite, from a HEAD of
    the object and one of its part 1, sent together, and the object's checksum; no part
    checks for any other checksum (it is checked once the file is whole)."""
    heads: dict[int, Mapping[str, str]] = {}

    async def head(part: int) -> None:
        heads[part] = await _head_part(ctx, obj, part or None)

    await run_all([functools.partial(head, 0), functools.partial(head, 1)])
    expected = expected_in(ctx, obj, heads[0])
    first = from_headers(heads[1])
    count = heads[1].get("x-amz-mp-parts-count", "")
    if expected is None or first is None or str(expected.parts) != count:
        return None, expected
    algorithm = usable(expected.algorithm)
    step = heads[1].get("content-length", "")
    if algorithm is None or first.algorithm != expected.algorithm or not step.isdigit():
        return None, expected
    parts = _even_split(obj.size, int(step), expected.parts)
    learn(parts[0], heads[1], expected.algorithm)
    place_parts(parts)
    return PartChecks(ctx, obj, expected, algorithm, parts), expected


def align_ranges(
    ranges: list[tuple[int, int]], parts: list[Part], size: int
) -> list[tuple[int, int]]:
    """``ranges`` with each cut moved to the nearest part boundary within half a range:
    no more ranges than before, and most of them whole parts."""
    if len(ranges) < 2 or len(parts) < 2:
        return ranges
    step = ranges[0][1] - ranges[0][0]
    edges = [part.end for part in parts[:-1]]
    cuts: list[int] = []
    for _, cut in ranges[:-1]:
        nearest = min(edges, key=lambda edge: abs(edge - cut))
        cut = nearest if 2 * abs(nearest - cut) <= step else cut
        if 0 < cut < size and (not cuts or cut > cuts[-1]):
            cuts.append(cut)
    return list(itertools.pairwise([0, *cuts, size]))


def _even_split(size: int, step: int, count: int) -> list[Part]:
    """The parts' likely places: all but the last of part 1's size, as SDKs split; each
    part's own HEAD corrects its place where the uploader split otherwise."""
    bounds = [(number * step, min((number + 1) * step, size)) for number in range(count)]
    return [Part(number + 1, start, max(start, end)) for number, (start, end) in enumerate(bounds)]


async def _head_part(ctx: TransferContext, obj: ObjectInfo, part: int | None) -> Mapping[str, str]:
    return await ctx.getter.head(obj, ctx.retry.attempts(ctx.run), part)


def learn(part: Part, headers: Mapping[str, str], algorithm: str) -> None:
    """What a HEAD of ``part`` tells: its checksum (of the object's algorithm), and its
    place (``Content-Range``) or at least its length."""
    checksum = from_headers(headers)
    if checksum is not None and checksum.algorithm == algorithm:
        part.checksum = checksum.value
    match = _CONTENT_RANGE.fullmatch(headers.get("content-range", "").strip())
    if match is not None:
        part.start, part.end, part.placed = int(match[1]), int(match[2]) + 1, True
    length = headers.get("content-length", "")
    if length.isdigit():
        part.length = int(length)


def place_parts(parts: list[Part]) -> None:
    """Place the parts S3 gave no place for, from the lengths of the parts before them:
    a part's start is known once every earlier part's length is."""
    start = 0
    for part in parts:
        if not part.placed:
            if part.length is None:
                return
            part.start, part.end, part.placed = start, start + part.length, True
        start = part.end
