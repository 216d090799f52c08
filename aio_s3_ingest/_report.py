"""IngestReport: what a run did, or what a dry run would do, in one value."""

from __future__ import annotations

import pathlib
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ._log import logger
from .errors import cause_text

if TYPE_CHECKING:
    from ._config import IngestConfig
    from ._models import FileRecord, Plan
    from ._run import Run


@dataclass(frozen=True)
class IngestReport:
    """The outcome of one run of :meth:`AsyncS3Ingester.sync` or :meth:`~AsyncS3Ingester.plan`.

    Paths in ``fetched``, ``kept``, ``deleted`` and ``unselected`` are relative to
    ``dataset_directory`` (``/``-separated). ``unselected`` are files an earlier run fetched
    whose objects are still there but outside the current patterns: left on disk, not
    returned. ``failed`` maps an object key to what ended it (archived objects are refused
    there before any GET); ``skipped`` maps keys that cannot be files (a key ending in
    ``/`` that holds data) to why. ``verified`` counts the files fetched whose bytes matched
    S3's checksum, by algorithm; ``unverified`` those S3 gave no checksum for that could be
    checked here; ``bytes_resumed`` the bytes of ``bytes_fetched`` that an earlier,
    interrupted run had left on disk and that were not fetched again. In a dry run
    (``dry_run=True``) the lists say what a run would do and nothing was fetched.
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
    unselected: tuple[str, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)
    verified: Mapping[str, int] = field(default_factory=dict)
    unverified: int = 0
    bytes_resumed: int = 0

    @property
    def paths(self) -> list[pathlib.Path]:
        """Every file of the dataset after the run, sorted: what ``fetch_data()`` returns."""
        # Sorting by path segments gives pathlib's order without comparing Path objects,
        # which costs more than the rest of a cache hit on a large dataset.
        relpaths = sorted((*self.fetched, *self.kept), key=lambda rel: rel.split("/"))
        # A name joined to its folder's Path costs half of a relative path joined to the
        # dataset's, and a folder holds many files.
        folders = {"": self.dataset_directory}
        paths = []
        for relpath in relpaths:
            folder, _, name = relpath.rpartition("/")
            parent = folders.get(folder)
            if parent is None:
                parent = folders[folder] = self.dataset_directory / folder
            paths.append(parent / name)
        return paths

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
            "unselected": list(self.unselected),
            "failed": dict(self.failed),
            "skipped": dict(self.skipped),
            "bytes_fetched": self.bytes_fetched,
            "bytes_resumed": self.bytes_resumed,
            "seconds": round(self.seconds, 6),
            "throughput": round(self.throughput, 1),
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "verified": dict(self.verified),
            "unverified": self.unverified,
        }

    def summary(self) -> str:
        """One line for people and logs."""
        if self.dry_run:
            size = human_bytes(self.bytes_fetched)
            line = (
                f"dry run: would fetch {len(self.fetched)} file(s) ({size}), "
                f"keep {len(self.kept)}, delete {len(self.deleted)}"
            )
        else:
            line = (
                f"fetched {len(self.fetched)} file(s), {human_bytes(self.bytes_fetched)} in "
                f"{self.seconds:.2f} s ({human_bytes(int(self.throughput))}/s); "
                f"kept {len(self.kept)}, deleted {len(self.deleted)}, failed {len(self.failed)}; "
                f"{self.requests} request(s), {self.retries} retried, {self.throttled} throttled"
            )
        return line + self._notes()

    def _notes(self) -> str:
        """What a user should not miss: refused, skipped and left-alone files."""
        notes = []
        if self.dry_run and self.failed:
            notes.append(f"{len(self.failed)} would fail")
        if self.skipped:
            notes.append(f"{len(self.skipped)} key(s) skipped")
        if self.unselected:
            notes.append(f"{len(self.unselected)} unselected file(s) left on disk")
        if self.bytes_resumed:
            notes.append(f"{human_bytes(self.bytes_resumed)} resumed from an earlier run")
        if self.verified:
            by = ", ".join(f"{count} {name}" for name, count in self.verified.items())
            notes.append(f"verified {by}")
        if self.unverified:
            notes.append(f"{self.unverified} with no checksum to verify")
        return f" ({'; '.join(notes)})" if notes else ""


def integrity_counts(records: Iterable[FileRecord]) -> dict[str, Any]:
    """The report's count of files verified, by algorithm, and of those S3 gave nothing
    to verify against (empty files need nothing)."""
    verified: Counter[str] = Counter()
    unverified = 0
    for record in records:
        if record.checksum is not None:
            verified[record.checksum.partition(":")[0]] += 1
        elif record.size:
            unverified += 1
    return {"verified": dict(sorted(verified.items())), "unverified": unverified}


def human_bytes(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class Fetched(NamedTuple):
    """The paths a run fetched (or a dry run would fetch), and their bytes."""

    paths: Collection[str]
    bytes: int


def run_report(
    config: IngestConfig,
    plan: Plan,
    run: Run,
    started: float,
    fetched: Fetched,
    failed: Mapping[str, BaseException],
) -> IngestReport:
    """The report of a run that started at ``started`` (monotonic)."""
    return IngestReport(
        dataset_directory=config.dataset_directory,
        fetched=tuple(sorted(fetched.paths)),
        kept=tuple(sorted(item.relpath for item in plan.to_keep)),
        deleted=tuple(sorted(plan.to_delete)),
        unselected=plan.unselected,
        bytes_fetched=fetched.bytes,
        bytes_resumed=run.resumed_bytes,
        seconds=time.monotonic() - started,
        requests=run.requests,
        retries=run.retries,
        throttled=run.throttled,
        failed={key: cause_text(exc) for key, exc in sorted(failed.items())},
    )


def log_verdict(
    config: IngestConfig, plan: Plan, fetching: tuple[int, int], *, force: bool
) -> None:
    """Say at INFO whether the run is a cache hit, and what it fetches (``fetching``: how
    many files, how many bytes) and deletes."""
    where = config.dataset_directory
    count, size = fetching
    if force:
        logger.info("force_recompute: fetching all %d file(s) into %s", count, where)
    elif not count and not plan.to_delete:
        logger.info("cache hit: %d file(s) in %s are up to date", len(plan.to_keep), where)
    else:
        logger.info(
            "cache miss: fetching %d of %d file(s) (%s) into %s, deleting %d",
            count,
            count + len(plan.to_keep),
            human_bytes(size),
            where,
            len(plan.to_delete),
        )


def merge_reports(
    reports: Sequence[IngestReport],
    dataset_directory: pathlib.Path,
    *,
    seconds: float,
    failed: Mapping[str, str],
) -> IngestReport:
    """One report for the shards of one dataset (which ran at once, for ``seconds`` in
    all): the lists and mappings joined, the counts added; ``failed`` adds failures no
    shard reported (a shard that failed as a whole)."""

    def joined(name: str) -> tuple[str, ...]:
        return tuple(sorted({rel for report in reports for rel in getattr(report, name)}))

    def total(name: str) -> int:
        return sum(getattr(report, name) for report in reports)

    verified: Counter[str] = Counter()
    for report in reports:
        verified.update(report.verified)
    return IngestReport(
        dataset_directory=dataset_directory,
        fetched=joined("fetched"),
        kept=joined("kept"),
        deleted=joined("deleted"),
        unselected=joined("unselected"),
        bytes_fetched=total("bytes_fetched"),
        bytes_resumed=total("bytes_resumed"),
        seconds=seconds,
        requests=total("requests"),
        retries=total("retries"),
        throttled=total("throttled"),
        failed=dict(sorted({**_failed_in(reports), **failed}.items())),
        skipped={key: why for report in reports for key, why in report.skipped.items()},
        verified=dict(sorted(verified.items())),
        unverified=total("unverified"),
    )


def _failed_in(reports: Iterable[IngestReport]) -> dict[str, str]:
    return {key: why for report in reports for key, why in report.failed.items()}
