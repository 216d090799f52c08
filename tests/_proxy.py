"""A fault-injecting HTTP proxy in front of the moto server: a real component on the wire.

The library is pointed at ``proxy.url`` and talks HTTP/1.1 to it exactly as to S3. The
proxy runs its own event loop in a thread, so sync and async tests share it. Each request
is forwarded on a fresh upstream connection (``Connection: close``) and the response is
relayed in 64 KiB pieces, never buffered whole; the client side stays keep-alive.
Everything it sees is recorded under a lock. Faults are :class:`Rule` s matched per
request by method, key, a predicate and a count. To add a fault: a field on ``Rule``
(``tests/_proxy_rules.py``), handled in ``FaultProxy._exchange`` (before forwarding) or
``cut_body`` (mid-body, ``tests/_proxy_wire.py``).
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests._proxy_rules import Cut, Exchange, Request, Rule, is_data_key
from tests._proxy_s3 import like_s3
from tests._proxy_wire import (
    body_length,
    cut_body,
    encode_headers,
    error_response,
    read_headers,
)

_PIECE = 64 * 1024


class FaultProxy:
    """Start with ``with FaultProxy(upstream) as proxy:``; point clients at ``proxy.url``."""

    def __init__(self, upstream: str, data_key: Callable[[str], bool] = is_data_key) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self._upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self._data_key = data_key
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy")
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.errors: list[BaseException] = []  # the proxy's own failures: a test bug
        self.url = ""
        self.reset_stats()

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        start = asyncio.start_server(self._serve_client, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()  # stalled or delayed answers, idle keep-alive connections
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        await self._loop.shutdown_default_executor()

    # -- rules -----------------------------------------------------------------------------

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def reset_after(self, n_bytes: int, pause: float = 0.0, **match: Any) -> Rule:
        """Send the headers and ``n_bytes`` of body, then reset the connection (RST);
        with ``pause``, wait that long first, so the client has taken every byte sent."""
        return self.add(Rule(cut=Cut(n_bytes, "reset", pause), **match))

    def truncate_after(self, n_bytes: int, pause: float = 0.0, **match: Any) -> Rule:
        """Send ``n_bytes`` of body, then close cleanly: shorter than Content-Length."""
        return self.add(Rule(cut=Cut(n_bytes, "close", pause), **match))

    def stall_after(self, n_bytes: int, seconds: float, **match: Any) -> Rule:
        """Send ``n_bytes`` of body, hang ``seconds``, then reset."""
        return self.add(Rule(cut=Cut(n_bytes, "reset", seconds), **match))

    def respond(self, status: int, code: str, **match: Any) -> Rule:
        """Answer with S3's XML error ``code`` instead of forwarding."""
        return self.add(Rule(respond=(status, code), **match))

    def delay(self, seconds: float, **match: Any) -> Rule:
        """Wait ``seconds`` before forwarding."""
        return self.add(Rule(delay=seconds, **match))

    def flip_byte(self, offset: int, **match: Any) -> Rule:
        """Invert one byte of matching response bodies, at ``offset`` of each body."""
        return self.add(Rule(flip=offset, **match))

    def before_forward(self, callback: Callable[[Request], object], **match: Any) -> Rule:
        """Call ``callback(request)`` in a thread, then forward."""
        return self.add(Rule(before_forward=callback, **match))

    # -- observations ----------------------------------------------------------------------

    def reset_stats(self) -> None:
        with self._lock:
            self._exchanges: list[Exchange] = []
            self._served: Counter[str] = Counter()
            self.connections = 0  # client connections accepted
            self.in_flight = self.peak_in_flight = 0
            self.data_in_flight = self.peak_data_in_flight = 0

    @property
    def exchanges(self) -> list[Exchange]:
        """Every recorded exchange, in the order they were recorded."""
        with self._lock:
            return list(self._exchanges)

    def data_gets(self, key: str | None = None) -> list[Exchange]:
        """Recorded GETs of data objects (``key``: only that key), in start order."""
        found = [x for x in self.exchanges if x.is_data]
        return sorted((x for x in found if key in (None, x.key)), key=lambda x: x.started)

    def bytes_served(self, key: str) -> int:
        """Body bytes sent for ``key`` so far (live, also mid-response)."""
        with self._lock:
            return self._served[key]

    # -- serving ---------------------------------------------------------------------------

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._lock:
            self.connections += 1
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away, or the proxy cut it on purpose
        except asyncio.CancelledError:
            pass  # the proxy is stopping; ending normally keeps asyncio from logging it
        except Exception as exc:
            self.errors.append(exc)
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; False when the connection must end."""
        line = await reader.readline()
        if not line.strip():
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        raw_headers = await read_headers(reader)
        headers = {name.lower(): value for name, value in raw_headers}
        if "transfer-encoding" in headers:
            raise NotImplementedError("chunked request bodies are not supported")
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        path, _, query = target.partition("?")
        key = urllib.parse.unquote(path.lstrip("/").partition("/")[2])
        forward = f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
        forward += encode_headers(raw_headers, close=True) + body
        keep_alive = headers.get("connection", "").lower() != "close"
        request = Request(method, key, query, headers)
        return await self._exchange(request, forward, writer) and keep_alive

    async def _exchange(
        self, request: Request, forward: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        with self._lock:
            rules = [rule for rule in self._rules if rule.matches(request)]
            for rule in rules:
                rule.hits += 1
            faults = tuple(rule.describe() for rule in rules)
            is_data = request.method == "GET" and self._data_key(request.key)
            log = Exchange(
                request.method,
                request.key,
                request.query,
                request.range,
                request.if_match,
                faults,
                is_data,
            )
            self._count(is_data, +1)
        try:
            for rule in rules:
                if rule.before_forward is not None:
                    await asyncio.to_thread(rule.before_forward, request)
            await asyncio.sleep(sum(rule.delay for rule in rules))
            error = next((rule.respond for rule in rules if rule.respond), None)
            if error is not None:
                log.status = error[0]
                self._record(log)
                writer.write(error_response(request, *error))
                await writer.drain()
                return True
            cut = next((rule.cut for rule in rules if rule.cut), None)
            flip = next((rule.flip for rule in rules if rule.flip is not None), None)
            await self._relay(forward, writer, cut, log, flip)
            return cut is None
        finally:
            self._record(log)

    def _count(self, is_data: bool, step: int) -> None:
        self.in_flight += step
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        if is_data:
            self.data_in_flight += step
            self.peak_data_in_flight = max(self.peak_data_in_flight, self.data_in_flight)

    def _record(self, log: Exchange) -> None:
        with self._lock:
            if not log.ended:  # once
                log.ended = time.monotonic()
                self._exchanges.append(log)
                self._count(log.is_data, -1)

    async def _relay(
        self,
        forward: bytes,
        writer: asyncio.StreamWriter,
        cut: Cut | None,
        log: Exchange,
        flip: int | None = None,
    ) -> None:
        """Forward upstream on a fresh connection, stream the answer back piece by piece,
        its headers as S3 would send them (see :mod:`tests._proxy_s3`)."""
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        try:
            up_writer.write(forward)
            status_line = await up_reader.readline()
            raw_headers = await read_headers(up_reader)
            log.status = int(status_line.split()[1])
            raw_headers = await like_s3(self._upstream, forward, log, raw_headers)
            length = body_length(log.method, log.status, raw_headers)
            buffered = b""
            if length is None:  # close-delimited: only small error bodies come this way
                buffered = await up_reader.read()
                length = len(buffered)
                raw_headers.append(("Content-Length", str(length)))
            limit = length if cut is None else min(cut.after, length)
            if limit == 0:
                self._record(log)
            writer.write(status_line + encode_headers(raw_headers, close=False))
            while log.body_bytes < limit:
                want = min(_PIECE, limit - log.body_bytes)
                start = log.body_bytes
                piece = buffered[start : start + want] or await up_reader.read(want)
                if not piece:
                    raise ConnectionError("upstream ended early")
                if flip is not None and start <= flip < start + len(piece):
                    at = flip - start
                    piece = piece[:at] + bytes([piece[at] ^ 0xFF]) + piece[at + 1 :]
                with self._lock:
                    log.body_bytes += len(piece)
                    self._served[log.key] += len(piece)
                if log.body_bytes == limit:
                    self._record(log)
                writer.write(piece)
                await writer.drain()
            await (writer.drain() if cut is None else cut_body(writer, cut))
        finally:
            up_writer.transport.abort()


@pytest.fixture(name="proxy")
def proxy_fixture(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A fresh proxy in front of the session's moto server, no rules; fails on proxy errors."""
    with FaultProxy(moto_endpoint) as running:
        yield running
    assert not running.errors, f"the test proxy itself failed: {running.errors!r}"


__all__ = ["Cut", "Exchange", "FaultProxy", "Request", "Rule", "is_data_key", "proxy_fixture"]
