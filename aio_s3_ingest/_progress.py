"""Progress events, what a run tells a progress bar, a metrics exporter or a log, and the
listener a run uses: the caller's callable, a tqdm bar, or nothing.

A callable passed as ``progress=`` receives each event on the event loop's thread;
it must be quick and must not block. tqdm is a dependency because the default
(``progress=None``) draws a bar whenever a person is watching; it is small, pure Python,
and what data users already know.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ConfigError

if TYPE_CHECKING:
    from ._models import Plan


@dataclass(frozen=True, slots=True)
class RunPlanned:
    """The plan is made: how much will be fetched, kept and deleted. A run that fetches
    while it lists sends this once the listing has ended, after the first files began."""

    files_to_fetch: int
    bytes_to_fetch: int
    files_to_keep: int
    files_to_delete: int


def planned_event(plan: Plan) -> RunPlanned:
    """The event that says what ``plan`` will do."""
    return RunPlanned(
        files_to_fetch=len(plan.to_fetch),
        bytes_to_fetch=plan.bytes_to_fetch,
        files_to_keep=len(plan.to_keep),
        files_to_delete=len(plan.to_delete),
    )


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
class FileResumed:
    """``nbytes`` of ``key`` were already on disk from an earlier, interrupted run: they
    count as done and are not fetched again."""

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


ProgressEvent = (
    RunPlanned
    | FileStarted
    | FileResumed
    | BytesReceived
    | FileFinished
    | RetryScheduled
    | Throttled
)


class ProgressCallback(Protocol):
    """Anything called with each progress event; it must return quickly."""

    def __call__(self, event: ProgressEvent, /) -> None: ...


def ignore(event: ProgressEvent) -> None:
    """The callback used when nobody listens."""


ProgressOption = ProgressCallback | bool | None


class TqdmBar:
    """Bytes with rate and ETA, files done in the postfix; drawn once the plan is known,
    with the bytes that came before it."""

    def __init__(self, tqdm_class: Any, **options: Any) -> None:
        self._tqdm_class = tqdm_class
        self._options = options
        self._bar: Any = None
        self._sizes: dict[str, int] = {}
        self._early_bytes = 0
        self.files_total = self.files_done = self.retries = self.throttled = 0

    def __call__(self, event: ProgressEvent, /) -> None:
        if isinstance(event, (BytesReceived, FileResumed)):
            if self._bar is not None:
                self._bar.update(event.nbytes)
            else:  # a run that fetches while it lists plans last
                self._early_bytes += event.nbytes
        elif isinstance(event, RunPlanned):
            self._start(event)
        elif isinstance(event, FileStarted):
            if event.key in self._sizes and self._bar is not None:
                self._bar.total += event.size  # fetched again: the object changed
                self._bar.refresh()
            self._sizes[event.key] = event.size
        elif isinstance(event, FileFinished):
            self.files_done += 1
            self._show_counts()
        elif isinstance(event, RetryScheduled):
            self.retries += 1
            self._show_counts()
        elif isinstance(event, Throttled):
            self.throttled += 1
            self._show_counts()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _start(self, event: RunPlanned) -> None:
        self.close()
        self.files_total = event.files_to_fetch
        if not event.files_to_fetch:
            return  # a cache hit: the log line says it, a bar would only flash
        self._bar = self._tqdm_class(
            total=event.bytes_to_fetch,
            initial=self._early_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="aio-s3-ingest",
            **self._options,
        )
        self._show_counts()

    def _show_counts(self) -> None:
        if self._bar is None:
            return
        text = f"{self.files_done}/{self.files_total} files"
        if self.retries:
            text += f", {self.retries} retried"
        if self.throttled:
            text += f", {self.throttled} throttled"
        self._bar.set_postfix_str(text, refresh=False)


@contextmanager
def progress_listener(progress: ProgressOption) -> Iterator[ProgressCallback]:
    """The callable that receives a run's events; a bar is closed when the run ends."""
    if callable(progress):
        yield progress
        return
    if progress is False or (progress is None and not _interactive()):
        yield ignore
        return
    from tqdm.auto import tqdm  # its imports take time: paid only when a bar is drawn

    bar = TqdmBar(tqdm, file=sys.stderr)
    try:
        yield bar
    finally:
        bar.close()


def check_progress(progress: object) -> None:
    """Refuse values ``progress=`` cannot take."""
    if progress is None or isinstance(progress, bool) or callable(progress):
        return
    raise ConfigError(
        f"progress must be True, False, None or a callable, got {progress!r}", parameter="progress"
    )


def _interactive() -> bool:
    """A terminal on stderr, or a Jupyter kernel (whose stderr is not a terminal)."""
    stderr_tty = getattr(sys.stderr, "isatty", lambda: False)()
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return bool(stderr_tty) or type(shell).__name__ == "ZMQInteractiveShell"
