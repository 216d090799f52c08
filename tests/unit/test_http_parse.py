"""HTTP/1.1 bytes in and out (``_http.parse``): pure rules, no sockets."""

from __future__ import annotations

import pytest

from aio_s3_ingest._http.parse import (
    HttpError,
    body_length,
    dechunk,
    keeps_alive,
    parse_head,
    request_bytes,
)


def test_request_bytes_are_a_get_line_headers_and_a_blank_line() -> None:
    """A GET request is its request line, one line per header, and an empty line."""
    assert request_bytes("/b/k?x=1", {"Host": "h", "Range": "bytes=0-9"}) == (
        b"GET /b/k?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=0-9\r\n\r\n"
    )


def test_request_bytes_refuse_a_header_with_a_line_break() -> None:
    """A header value holding CR or LF could smuggle a second request: refused."""
    with pytest.raises(ValueError, match="X-Evil holds a line break"):
        request_bytes("/", {"X-Evil": "a\r\nGET /other HTTP/1.1"})


def test_parse_head_reads_status_and_lower_cased_fields() -> None:
    """Version, status and fields, names lower-cased and values stripped."""
    head = b'HTTP/1.1 206 Partial Content\r\nContent-Length:  10 \r\nETag: "e"'
    assert parse_head(head) == ("HTTP/1.1", 206, {"content-length": "10", "etag": '"e"'})
    assert parse_head(b"HTTP/1.0 200") == ("HTTP/1.0", 200, {})


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"SSH-2.0-OpenSSH", "not an HTTP/1.x response"),
        (b"HTTP/2 200 OK", "not an HTTP/1.x response"),
        (b"HTTP/1.1 2000 OK", "not an HTTP/1.x response"),
        (b"HTTP/1.1 200 OK\r\nno colon here", "malformed header line"),
    ],
)
def test_parse_head_refuses_what_is_not_http_1(head: bytes, why: str) -> None:
    """A head that is not HTTP/1.x, or a field without a colon, is an HttpError."""
    with pytest.raises(HttpError, match=why):
        parse_head(head)


@pytest.mark.parametrize(
    ("status", "headers", "length"),
    [
        (200, {"content-length": "42"}, 42),
        (206, {}, -1),
        (200, {"content-length": "42", "transfer-encoding": "chunked"}, -1),
        (204, {"content-length": "42"}, 0),
        (304, {}, 0),
        (200, {"content-length": "-1"}, -1),
    ],
)
def test_body_length_follows_rfc_9112(status: int, headers: dict[str, str], length: int) -> None:
    """Content-Length gives the length, unless a transfer encoding does or the status has
    no body; otherwise the length is unknown (-1)."""
    assert body_length(status, headers) == length


def test_keeps_alive_only_for_http_1_1_with_a_known_length_and_no_close() -> None:
    """A connection is reused only after an HTTP/1.1 body of known length without
    ``Connection: close``."""
    assert keeps_alive("HTTP/1.1", 10, {})
    assert not keeps_alive("HTTP/1.0", 10, {})
    assert not keeps_alive("HTTP/1.1", -1, {})
    assert not keeps_alive("HTTP/1.1", 10, {"connection": "Close"})


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b"5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n", b"hello world"),
        (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"0\r\n\r\n", b""),
        (b"", None),
        (b"5", None),
        (b"5\r\nhel", None),
        (b"5\r\nhello\r\n", None),
        (b"5\r\nhello\r\n0\r\n", None),
        (b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n", None),
    ],
)
def test_dechunk(raw: bytes, body: bytes | None) -> None:
    """A complete chunked body (extensions and trailers skipped), or None if incomplete."""
    assert dechunk(bytearray(raw)) == body


def test_dechunk_refuses_a_bad_chunk_size() -> None:
    """A size line that is not hex is an HttpError, not a wait for more bytes."""
    with pytest.raises(HttpError, match="bad chunk size"):
        dechunk(b"zz\r\nhello\r\n0\r\n\r\n")
