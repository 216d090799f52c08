"""Where moto answers unlike S3, the fault proxy answers as S3 does.

- A ranged GET's answer carries no object checksum (moto sends the whole object's).
- A HEAD of a multipart object with a composite checksum gives it as ``value-N`` with
  ``x-amz-checksum-type: COMPOSITE``, as S3's GET and HEAD do (moto's GET does; its HEAD
  gives the bare value and no type). The proxy learns N and the type from a HEAD of
  part 1, which moto answers with the part count and, for a composite checksum only,
  the part's checksum.
"""

from __future__ import annotations

import asyncio

from tests._proxy_rules import Exchange
from tests._proxy_wire import is_checksum_header, read_headers

Headers = list[tuple[str, str]]


async def like_s3(
    upstream: tuple[str, int], forward: bytes, log: Exchange, headers: Headers
) -> Headers:
    """The upstream answer's ``headers`` as S3 would have sent them."""
    if log.range is not None:
        return [header for header in headers if not is_checksum_header(header[0])]
    checksums = [name for name, _ in headers if is_checksum_header(name)]
    if log.method != "HEAD" or "partNumber" in log.query or not checksums:
        return headers
    if any(name.lower() == "x-amz-checksum-type" for name in checksums):
        return headers
    part = await _part_one(upstream, forward)
    parts = _value(part, "x-amz-mp-parts-count")
    composite = parts is not None and any(is_checksum_header(name) for name, _ in part)
    if not composite:
        return [*headers, ("x-amz-checksum-type", "FULL_OBJECT")]
    named = [
        (name, f"{value}-{parts}" if is_checksum_header(name) else value) for name, value in headers
    ]
    return [*named, ("x-amz-checksum-type", "COMPOSITE")]


async def _part_one(upstream: tuple[str, int], forward: bytes) -> Headers:
    line, _, rest = forward.partition(b"\r\n")
    method, target, version = line.split(b" ")
    target += b"&partNumber=1" if b"?" in target else b"?partNumber=1"
    reader, writer = await asyncio.open_connection(*upstream)
    try:
        writer.write(b" ".join((method, target, version)) + b"\r\n" + rest)
        await reader.readline()
        return await read_headers(reader)
    finally:
        writer.transport.abort()


def _value(headers: Headers, wanted: str) -> str | None:
    return next((value for name, value in headers if name.lower() == wanted), None)
