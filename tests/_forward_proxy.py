"""An HTTP forward proxy for the tests, on an event loop of its own thread: GETs in
absolute form are relayed to the origin they name, ``CONNECT`` opens a tunnel. It
records what each request asked of it, so a test can see which path sent what."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

from tests._tls_front import LoopServer, pipe


@dataclass(frozen=True)
class Seen:
    """One request the proxy received: its method and target, and two of its headers."""

    method: str
    target: str
    proxy_authorization: str | None
    user_agent: str | None


class ForwardProxy(LoopServer):
    """``http://127.0.0.1:PORT``, a proxy as ``HTTP_PROXY`` / ``HTTPS_PROXY`` name one."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seen: list[Seen] = []

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    @contextlib.contextmanager
    def running(self) -> Iterator[ForwardProxy]:
        with self.serving():
            yield self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target = self._note(head)
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await self._relay(reader, writer, upstream, None)
            else:
                origin = urllib.parse.urlsplit(target)
                upstream = await asyncio.open_connection(origin.hostname, origin.port or 80)
                await self._relay(reader, writer, upstream, head)
        except (OSError, asyncio.IncompleteReadError):
            writer.transport.abort()
        finally:
            self._writers.discard(writer)

    async def _relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        first_head: bytes | None,
    ) -> None:
        """Answers back as they come; requests on, in origin form (a tunnel: as bytes)."""
        up_reader, up_writer = upstream
        self._writers.add(up_writer)
        if first_head is None:
            outbound = pipe(reader, up_writer)
        else:
            outbound = self._requests(first_head, reader, up_writer)
        await asyncio.gather(outbound, pipe(up_reader, writer), return_exceptions=True)
        self._writers.discard(up_writer)

    async def _requests(
        self, head: bytes, reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter
    ) -> None:
        """Each GET (no body) rewritten from absolute to origin form, without the headers
        meant for the proxy."""
        try:
            while True:
                up_writer.write(_origin_form(head))
                await up_writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                self._note(head)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            up_writer.transport.abort()

    def _note(self, head: bytes) -> tuple[str, str]:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        seen = Seen(method, target, fields.get("proxy-authorization"), fields.get("user-agent"))
        with self._lock:
            self._seen.append(seen)
        return method, target


def _origin_form(head: bytes) -> bytes:
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    parts = urllib.parse.urlsplit(target)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    kept = [line for line in lines[1:] if not line.lower().startswith("proxy-")]
    return "\r\n".join([f"{method} {path} {version}", *kept]).encode("latin-1")
