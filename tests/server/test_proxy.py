"""The fault proxy itself: it forwards faithfully, keeps connections alive, and injects faults."""

from __future__ import annotations

import asyncio
import os
import socket
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests._proxy import (
    FaultProxy,
    Request,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)

KiB = 1024


class RawClient:
    """One keep-alive HTTP/1.1 connection to the proxy, read byte by byte as it arrives."""

    def __init__(self, proxy: FaultProxy, timeout: float = 5.0) -> None:
        host, port = urllib.parse.urlsplit(proxy.url).netloc.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.stream = self.sock.makefile("rb")

    def send_get(self, target: str) -> tuple[int, int]:
        """Send a GET; return the status and Content-Length, leaving the body unread."""
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: proxy\r\n\r\n".encode())
        status = int(self.stream.readline().split()[1])
        length = 0
        while (line := self.stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, length

    def read_body(self, length: int) -> bytes:
        return self.stream.read(length)

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


@pytest.fixture
def raw(proxy: FaultProxy) -> Iterator[RawClient]:
    """A raw client on the proxy, closed after the test."""
    client = RawClient(proxy)
    yield client
    client.close()


@pytest.fixture
def presigned(s3: Any, bucket: str) -> tuple[bytes, str]:
    """Put ``data/blob.bin`` (256 KiB) and return its bytes and a GET target for it."""
    body = os.urandom(256 * KiB)
    s3.put_object(Bucket=bucket, Key="data/blob.bin", Body=body)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "data/blob.bin"})
    parts = urllib.parse.urlsplit(url)
    return body, f"{parts.path}?{parts.query}"


def test_forwards_and_keeps_the_client_connection_alive(
    proxy: FaultProxy, raw: RawClient, presigned: tuple[bytes, str]
) -> None:
    """Two GETs on one client connection both get the object's bytes, and are recorded."""
    body, target = presigned
    for _ in range(2):
        status, length = raw.send_get(target)
        assert (status, length) == (200, len(body))
        assert raw.read_body(length) == body
    assert proxy.connections == 1
    assert [(x.key, x.status, x.body_bytes) for x in proxy.data_gets()] == [
        ("data/blob.bin", 200, len(body))
    ] * 2
    assert proxy.bytes_served("data/blob.bin") == 2 * len(body)


def test_reset_after_sends_n_bytes_then_resets(
    proxy: FaultProxy, raw: RawClient, presigned: tuple[bytes, str]
) -> None:
    """reset_after(n) delivers the headers and exactly n body bytes, then a TCP reset."""
    body, target = presigned
    rule = proxy.reset_after(100 * KiB, key="blob")
    status, length = raw.send_get(target)
    assert (status, length) == (200, len(body))
    assert raw.stream.read(100 * KiB) == body[: 100 * KiB]
    with pytest.raises(ConnectionResetError):
        raw.stream.read(1)
    assert rule.hits == 1
    assert proxy.data_gets()[0].body_bytes == 100 * KiB


def test_truncate_after_closes_cleanly_before_content_length(
    proxy: FaultProxy, raw: RawClient, presigned: tuple[bytes, str]
) -> None:
    """truncate_after(n) delivers n body bytes, then end-of-stream, short of Content-Length."""
    body, target = presigned
    proxy.truncate_after(10 * KiB, key="blob")
    assert raw.send_get(target) == (200, len(body))
    assert raw.read_body(len(body)) == body[: 10 * KiB]


def test_stall_after_hangs_mid_body(proxy: FaultProxy, presigned: tuple[bytes, str]) -> None:
    """stall_after(n, s) delivers n body bytes and then nothing for s seconds."""
    body, target = presigned
    proxy.stall_after(KiB, 5.0, key="blob")
    client = RawClient(proxy, timeout=0.3)
    try:
        assert client.send_get(target) == (200, len(body))
        assert client.stream.read(KiB) == body[:KiB]
        with pytest.raises(TimeoutError):
            client.stream.read(1)
    finally:
        client.close()


def test_respond_answers_with_an_s3_error_for_the_first_n_matches(
    proxy: FaultProxy, raw: RawClient, presigned: tuple[bytes, str]
) -> None:
    """respond(503, 'SlowDown', times=1) answers the first match itself, then forwards again."""
    body, target = presigned
    rule = proxy.respond(503, "SlowDown", key="blob", times=1)
    status, length = raw.send_get(target)
    assert status == 503
    assert b"<Code>SlowDown</Code>" in raw.read_body(length)
    assert raw.send_get(target) == (200, len(body))
    assert raw.read_body(len(body)) == body
    assert rule.hits == 1
    assert [x.status for x in proxy.data_gets()] == [503, 200]


def test_before_forward_runs_before_the_request_reaches_s3(
    s3: Any, bucket: str, proxy: FaultProxy, raw: RawClient, presigned: tuple[bytes, str]
) -> None:
    """A before_forward callback that overwrites the object makes the GET see the new bytes."""
    _, target = presigned
    seen: list[Request] = []

    def overwrite(request: Request) -> None:
        seen.append(request)
        s3.put_object(Bucket=bucket, Key=request.key, Body=b"new bytes")

    proxy.before_forward(overwrite, key="blob")
    assert raw.send_get(target) == (200, 9)
    assert raw.read_body(9) == b"new bytes"
    assert [r.key for r in seen] == ["data/blob.bin"]


@pytest.mark.asyncio
async def test_delay_holds_requests_in_flight_and_peaks_are_counted(
    proxy: FaultProxy, presigned: tuple[bytes, str]
) -> None:
    """Three concurrent GETs delayed 0.3 s are all in flight at once: the peak is 3."""
    body, target = presigned
    proxy.delay(0.3, key="blob")
    host, port = urllib.parse.urlsplit(proxy.url).netloc.split(":")

    async def get() -> bytes:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {target} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n".encode())
        response = await reader.read()
        writer.close()
        await writer.wait_closed()
        return response

    responses = await asyncio.gather(get(), get(), get())
    assert all(response.endswith(body) for response in responses)
    assert proxy.peak_data_in_flight == proxy.peak_in_flight == 3
    assert proxy.data_in_flight == 0
