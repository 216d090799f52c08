"""Reaching the origin through an HTTP proxy, as botocore does when ``HTTP(S)_PROXY`` name
one: plain-HTTP requests go to the proxy in absolute form, HTTPS goes through a
``CONNECT`` tunnel with TLS on top. The pool opens connections and writes request
targets through this one seam, so the rest of the client never knows a proxy is there
(and plain connections through a proxy are still received on threads and spliced)."""

from __future__ import annotations

import base64
import socket
import urllib.parse
from dataclasses import dataclass, field

from .parse import HttpError, parse_head

_HEAD_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy; ``authorization`` is the ``Proxy-Authorization`` value, if any."""

    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)  # never in a repr or log

    @classmethod
    def from_url(cls, url: str) -> Proxy:
        """``http://[user:password@]host[:port]``, as the environment variables give it."""
        parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http:// proxies are spoken here, not {parts.scheme}://")
        authorization = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            secret = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
            authorization = f"Basic {token}"
        return cls(parts.hostname, parts.port or 80, authorization)

    def headers(self) -> dict[str, str]:
        """What every request sent to the proxy itself carries."""
        return {"Proxy-Authorization": self.authorization} if self.authorization else {}


def tunnel(proxy: Proxy, host: str, port: int, timeout: float | None) -> socket.socket:
    """Blocking, so on a worker thread: a socket to ``proxy``, tunnelled by ``CONNECT`` to
    ``host:port`` and ready for TLS; the proxy's refusal is an :class:`HttpError`."""
    sock = socket.create_connection((proxy.host, proxy.port), timeout=timeout)
    try:
        lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in proxy.headers().items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        _, status, _ = parse_head(_read_head(sock))
        if status != 200:
            raise HttpError(
                f"the proxy {proxy.host}:{proxy.port} refused CONNECT {host}:{port}: HTTP {status}"
            )
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise


def _read_head(sock: socket.socket) -> bytes:
    """The proxy's answer head, read a byte at a time: what follows it is the tunnel's."""
    data = bytearray()
    while not data.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise HttpError("the proxy closed the connection before answering CONNECT")
        data += byte
        if len(data) > _HEAD_LIMIT:
            raise HttpError(f"the proxy's answer to CONNECT is longer than {_HEAD_LIMIT} bytes")
    return bytes(data[:-4])
