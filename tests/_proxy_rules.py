"""What the fault proxy matches and records: requests, fault rules, cuts and exchanges."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Request:
    """One request as the client sent it; what rules match on."""

    method: str
    key: str  # path-style: /bucket/key -> key ("" for bucket-level requests)
    query: str
    headers: dict[str, str]  # names lower-cased

    @property
    def range(self) -> str | None:
        return self.headers.get("range")

    @property
    def if_match(self) -> str | None:
        return self.headers.get("if-match")


@dataclass
class Exchange:
    """A request and its answer, recorded before the answer's last byte is sent, so a
    client that has its answer always finds it recorded."""

    method: str
    key: str
    query: str
    range: str | None
    if_match: str | None
    faults: tuple[str, ...]
    is_data: bool  # a GET of a data object
    status: int = 0  # 0: no status line was sent
    body_bytes: int = 0  # response body bytes handed to the client
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0  # when recorded


@dataclass(frozen=True)
class Cut:
    """End a response body after ``after`` bytes, ``pause`` seconds later: RST or clean close."""

    after: int
    mode: Literal["reset", "close"]
    pause: float = 0.0


@dataclass
class Rule:
    """Which requests a fault applies to, and the fault. ``hits`` counts its matches.

    ``key`` and ``when`` run under the proxy's lock (so ``times`` is exact): keep them pure.
    """

    method: str | None = "GET"  # None: any method
    key: str | Callable[[str], bool] | None = None  # substring of the key, or a predicate
    when: Callable[[Request], bool] | None = None  # any other condition on the request
    times: int | None = None  # the first N matching requests; None: all of them
    delay: float = 0.0  # seconds before forwarding (time to first byte)
    respond: tuple[int, str] | None = None  # (status, S3 error code), not forwarded
    before_forward: Callable[[Request], object] | None = None  # run in a thread
    cut: Cut | None = None
    flip: int | None = None  # invert the bits of the response body's byte at this offset
    hits: int = 0

    def matches(self, request: Request) -> bool:
        key_ok = (
            self.key is None
            or (isinstance(self.key, str) and self.key in request.key)
            or (callable(self.key) and self.key(request.key))
        )
        return (
            (self.times is None or self.hits < self.times)
            and self.method in (None, request.method)
            and key_ok
            and (self.when is None or self.when(request))
        )

    def describe(self) -> str:
        parts = [f"delay={self.delay}"] if self.delay else []
        parts += [f"respond={self.respond}"] if self.respond else []
        parts += [f"{self.cut.mode}@{self.cut.after}"] if self.cut else []
        parts += [f"flip@{self.flip}"] if self.flip is not None else []
        return ",".join(parts + (["before_forward"] if self.before_forward else []))


def is_data_key(key: str) -> bool:
    """An object's key, other than the S3 manifest's."""
    return bool(key) and key.rsplit("/", 1)[-1] != "manifest"
