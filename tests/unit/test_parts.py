"""A multipart upload's parts: where they lie, what their HEADs tell, ranges cut at them."""

from __future__ import annotations

import datetime as dt
import itertools

from aio_s3_ingest._models import ObjectInfo
from aio_s3_ingest._transfer.parts import Part, align_ranges, learn, multipart, place_parts

MIB = 1024 * 1024


def _parts(*sizes: int) -> list[Part]:
    parts, start = [], 0
    for number, size in enumerate(sizes, 1):
        parts.append(Part(number, start, start + size, placed=True))
        start += size
    return parts


def _even(size: int, step: int) -> list[tuple[int, int]]:
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def test_ranges_cut_at_nearby_part_boundaries() -> None:
    parts = _parts(5 * MIB, 5 * MIB, 2 * MIB)
    ranges = _even(12 * MIB, 4 * MIB)
    assert align_ranges(ranges, parts, 12 * MIB) == [
        (0, 5 * MIB),
        (5 * MIB, 10 * MIB),
        (10 * MIB, 12 * MIB),
    ]


def test_a_cut_far_from_any_boundary_stays() -> None:
    parts = _parts(8 * MIB, 8 * MIB)
    ranges = _even(16 * MIB, 2 * MIB)
    aligned = align_ranges(ranges, parts, 16 * MIB)
    assert aligned[:2] == [(0, 2 * MIB), (2 * MIB, 4 * MIB)]
    assert (6 * MIB, 8 * MIB) in aligned
    assert len(aligned) == len(ranges)


def test_aligning_never_adds_ranges_and_tiles_the_object() -> None:
    parts = _parts(5 * MIB, 5 * MIB, 5 * MIB, 1)
    size = 15 * MIB + 1
    for step in (MIB, 3 * MIB, 7 * MIB, 8 * MIB):
        ranges = _even(size, step)
        aligned = align_ranges(ranges, parts, size)
        assert len(aligned) <= len(ranges)
        assert aligned[0][0] == 0
        assert aligned[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(aligned))
        assert all(start < end for start, end in aligned)


def test_one_range_or_one_part_is_left_alone() -> None:
    assert align_ranges([(0, 10)], _parts(5, 5), 10) == [(0, 10)]
    assert align_ranges([(0, 5), (5, 10)], _parts(10), 10) == [(0, 5), (5, 10)]


def test_learn_takes_place_checksum_and_length() -> None:
    part = Part(2, 0, 0)
    headers = {
        "content-range": "bytes 5242880-11534335/12582912",
        "content-length": "6291456",
        "x-amz-checksum-crc32": "AAAAAA==",
    }
    learn(part, headers, "CRC32")
    assert (part.start, part.end, part.placed) == (5 * MIB, 11 * MIB, True)
    assert part.length == 6 * MIB
    assert part.checksum == "AAAAAA=="


def test_learn_ignores_a_checksum_of_another_algorithm() -> None:
    part = Part(1, 0, 0)
    learn(part, {"x-amz-checksum-sha256": "x" * 44, "content-length": "5"}, "CRC32")
    assert part.checksum is None
    assert part.length == 5
    assert not part.placed


def test_parts_without_content_range_are_placed_from_earlier_lengths() -> None:
    parts = [Part(1, 0, 5, placed=True), Part(2, 5, 10), Part(3, 10, 12)]
    parts[2].length = 1
    place_parts(parts)
    assert not parts[1].placed  # its own length is not known yet
    assert not parts[2].placed  # nor, therefore, where part 3 starts
    parts[1].length = 6
    place_parts(parts)
    assert [(p.start, p.end, p.placed) for p in parts] == [
        (0, 5, True),
        (5, 11, True),
        (11, 12, True),
    ]


def test_only_a_multipart_uploads_etag_names_parts() -> None:
    def info(etag: str) -> ObjectInfo:
        return ObjectInfo("k", 1, etag, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))

    assert multipart(info('"d41d8cd98f00b204e9800998ecf8427e-3"'))
    assert multipart(info("D41D8CD98F00B204E9800998ECF8427E-12"))
    assert not multipart(info('"d41d8cd98f00b204e9800998ecf8427e-1"'))  # one part
    assert not multipart(info('"d41d8cd98f00b204e9800998ecf8427e"'))  # single-part upload
    assert not multipart(info('"6571a2b3-10000000"'))  # nginx: mtime-size, in hex
    assert not multipart(info(""))
