"""IngestReport: what a run did, or what a dry run would do, in one value."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IngestReport:
    """The outcome of one run of :meth:`AsyncS3Ingester.sync` or :meth:`~AsyncS3Ingester.plan`.

    Paths in ``fetched``, ``kept``, ``deleted`` are relative to ``dataset_directory``
    (``/``-separated); ``failed`` maps an object key to what ended it. In a dry run
    (``dry_run=True``) the three lists say what a run would do and nothing was fetched.
    """

    dataset_directory: pathlib.Path
    fetched: tuple[str, ...]
    kept: tuple[str, ...]
    deleted: tuple[str, ...]
    bytes_fetched: int
    seconds: float
    requests: int
    retries: int
    throttled: int
    dry_run: bool = False
    failed: Mapping[str, str] = field(default_factory=dict)

    @property
    def paths(self) -> list[pathlib.Path]:
        """Every file of the dataset after the run, sorted: what ``fetch_data()`` returns."""
        # Sorting by path segments gives pathlib's order without comparing Path objects,
        # which costs more than the rest of a cache hit on a large dataset.
        relpaths = sorted((*self.fetched, *self.kept), key=lambda rel: rel.split("/"))
        return [self.dataset_directory / rel for rel in relpaths]

    @property
    def throughput(self) -> float:
        """Bytes fetched per second of the run (0 when nothing was fetched)."""
        if self.dry_run or self.seconds <= 0:
            return 0.0
        return self.bytes_fetched / self.seconds

    @property
    def ok(self) -> bool:
        """True when no object failed."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus ``throughput`` (what ``--json`` prints)."""
        return {
            "dataset_directory": str(self.dataset_directory),
            "dry_run": self.dry_run,
            "fetched": list(self.fetched),
            "kept": list(self.kept),
            "deleted": list(self.deleted),
            "failed": dict(self.failed),
            "bytes_fetched": self.bytes_fetched,
            "seconds": round(self.seconds, 6),
            "throughput": round(self.throughput, 1),
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
        }

    def summary(self) -> str:
        """One line for people and logs."""
        if self.dry_run:
            size = human_bytes(self.bytes_fetched)
            return (
                f"dry run: would fetch {len(self.fetched)} file(s) ({size}), "
                f"keep {len(self.kept)}, delete {len(self.deleted)}"
            )
        return (
            f"fetched {len(self.fetched)} file(s), {human_bytes(self.bytes_fetched)} in "
            f"{self.seconds:.2f} s ({human_bytes(int(self.throughput))}/s); kept {len(self.kept)}, "
            f"deleted {len(self.deleted)}, failed {len(self.failed)}; {self.requests} request(s), "
            f"{self.retries} retried, {self.throttled} throttled"
        )


def human_bytes(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
