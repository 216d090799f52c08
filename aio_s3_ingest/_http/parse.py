"""HTTP/1.1 as bytes: the request line and headers out, the response head and a chunked
body in. Pure functions, so every rule is a unit test; the protocol only moves bytes."""

from __future__ import annotations

from collections.abc import Mapping


class HttpError(ConnectionError):
    """The connection broke, timed out, or the peer did not speak HTTP/1.1 as expected."""


Head = tuple[str, int, dict[str, str]]
"""HTTP version, status code, and header fields (names lower-cased)."""


def request_bytes(target: str, headers: Mapping[str, str], method: str = "GET") -> bytes:
    """``GET target`` (or ``HEAD``) with ``headers``; a value holding a line break is
    refused."""
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name} holds a line break")
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def parse_head(head: bytes | bytearray) -> Head:
    """The status line and header fields of a response head (without its blank line)."""
    status_line, *lines = bytes(head).decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit() or rest[3:4] not in ("", " "):
        raise HttpError(f"not an HTTP/1.x response: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(f"malformed header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return version, int(code), headers


def body_length(status: int, headers: Mapping[str, str], method: str = "GET") -> int:
    """The body's length by RFC 9112, or -1 when the length is not given up front."""
    if method == "HEAD" or status in (204, 304):
        return 0  # never a body, whatever the headers say
    if "transfer-encoding" in headers:
        return -1  # the encoding decides the length, not the header
    length = headers.get("content-length", "")
    return int(length) if length.isdigit() else -1


def keeps_alive(version: str, length: int, headers: Mapping[str, str]) -> bool:
    """Whether the connection may carry another request once this body is read."""
    return (
        version == "HTTP/1.1"
        and length >= 0
        and "close" not in headers.get("connection", "").lower()
    )


def dechunk(raw: bytes | bytearray) -> bytes | None:
    """The body of a complete chunked encoding, or None while it is incomplete."""
    body = bytearray()
    position = 0
    while (line_end := raw.find(b"\r\n", position)) >= 0:
        size_text = bytes(raw[position:line_end]).split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:
            return bytes(body) if raw.find(b"\r\n\r\n", line_end) >= 0 else None
        start = line_end + 2
        if len(raw) < start + size + 2:
            return None
        if raw[start + size : start + size + 2] != b"\r\n":
            raise HttpError("chunk data not followed by CRLF")
        body += raw[start : start + size]
        position = start + size + 2
    return None
