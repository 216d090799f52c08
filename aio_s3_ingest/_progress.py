"""Progress events: what a run tells a progress bar, a metrics exporter or a log.

A callable passed as ``progress=`` receives each event on the event loop's thread;
it must be quick and must not block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RunPlanned:
    """The plan is made: how much will be fetched, kept and deleted."""

    files_to_fetch: int
    bytes_to_fetch: int
    files_to_keep: int
    files_to_delete: int


@dataclass(frozen=True, slots=True)
class FileStarted:
    """A file's download began (again, after an object changed)."""

    key: str
    size: int


@dataclass(frozen=True, slots=True)
class BytesReceived:
    """``nbytes`` more bytes of ``key`` were written."""

    key: str
    nbytes: int


@dataclass(frozen=True, slots=True)
class FileFinished:
    """A file is verified and in place."""

    key: str
    size: int


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """A broken body is resumed after a pause; ``cause`` says what broke."""

    key: str
    attempt: int
    cause: str


@dataclass(frozen=True, slots=True)
class Throttled:
    """S3 answered SlowDown; ``limit`` is how many requests may now wait for an answer."""

    key: str
    count: int
    limit: int


ProgressEvent = RunPlanned | FileStarted | BytesReceived | FileFinished | RetryScheduled | Throttled


class ProgressCallback(Protocol):
    """Anything called with each progress event; it must return quickly."""

    def __call__(self, event: ProgressEvent, /) -> None: ...


def ignore(event: ProgressEvent) -> None:
    """The callback used when nobody listens."""
