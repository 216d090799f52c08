"""Running one peer process under measurement, and checking what it downloaded.

Wall time spans process start to exit (interpreter start-up and imports included: that is
what a user waits for). CPU time comes from ``os.wait4`` on the child, which covers the
processes it spawned and reaped. A peer may also run processes it does not reap itself (a
multiprocessing fork server's workers), so every process of the peer's session is sampled
from /proc as well: CPU is the larger of the two counts, and peak RSS is the peak of the
session's summed RSS (for one process, the same as its own peak).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import multiprocessing
import os
import random
import re
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

STATE_DIR = ".aio-s3-ingest"


@dataclass
class Run:
    """One measured process run."""

    wall: float
    cpu: float
    maxrss_kib: int
    error: str | None = None


@dataclass
class Series:
    """All measured runs of one peer in one cell (warm-ups excluded)."""

    runs: list[Run] = field(default_factory=list)

    @property
    def ok(self) -> list[Run]:
        return [r for r in self.runs if r.error is None]

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.runs if r.error is not None]

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.ok)


class Launcher:
    """Runs peers from a small process of its own, started before the harness grows.

    A forked child starts with its parent's peak RSS as its own, and Linux keeps the larger
    of the two through ``exec``: peers forked from a harness that holds a 100,000-key index
    would all report at least its size. This process comes from a fork server (a fresh
    interpreter), so the floor is its own few tens of MiB.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("forkserver")
        self._pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
        self._pool.submit(int).result()  # started now, while the harness is small

    def run(self, argv: list[str], env: dict[str, str], log: Path, timeout: float) -> Run:
        return self._pool.submit(run_process, argv, env, log, timeout).result()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def run_process(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> Run:
    """Run argv to completion in its own process group; kill the group after ``timeout`` s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    sampler = SessionSampler(proc.pid)
    sampler.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        kill()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(proc.pid, 0)
        raise
    finally:
        timer.cancel()
        sampler.stop()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = max(usage.ru_utime + usage.ru_stime, sampler.cpu_seconds)
    run = Run(wall, cpu, max(usage.ru_maxrss, sampler.peak_rss_kib))
    if timed_out.is_set():
        run.error = f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0:
        run.error = f"exit {proc.returncode}: {last_line(log)}"
    return run


class SessionSampler(threading.Thread):
    """Every 20 ms: the summed RSS, and each process's CPU so far, of one session."""

    _TICKS = os.sysconf("SC_CLK_TCK")
    _PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

    def __init__(self, session: int) -> None:
        super().__init__(daemon=True)
        self.session = session
        self.peak_rss_kib = 0
        self._cpu_ticks: dict[int, int] = {}
        self._done = threading.Event()

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu_ticks.values()) / self._TICKS

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.sample()

    def stop(self) -> None:
        self._done.set()
        self.join()

    def sample(self) -> None:
        rss_pages = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
            except OSError:
                continue  # gone in between
            # fields[0] is the state (field 3 of stat); session is field 6, utime 14,
            # stime 15, rss 24 (in pages)
            if int(fields[3]) != self.session or fields[0] == "Z":
                continue
            self._cpu_ticks[int(name)] = int(fields[11]) + int(fields[12])
            rss_pages += int(fields[21])
        self.peak_rss_kib = max(self.peak_rss_kib, rss_pages * self._PAGE_KIB)


def last_line(log: Path) -> str:
    """The last non-empty line of a log, shortened for the table."""
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    text = lines[-1] if lines else "(no output)"
    return text if len(text) <= 160 else text[:157] + "..."


def scan(dest: Path) -> dict[str, int]:
    """Relative path -> size of every file below dest, skipping aio_s3_ingest's state folder."""
    found: dict[str, int] = {}
    for root, dirs, files in os.walk(dest):
        dirs[:] = [d for d in dirs if d != STATE_DIR]
        for name in files:
            path = Path(root) / name
            found[path.relative_to(dest).as_posix()] = path.stat().st_size
    return found


def md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify(
    dest: Path, expected: dict[str, list], sample: int, seed: int, must_check: list[str]
) -> str | None:
    """None if dest holds exactly the expected files with the right sizes and sampled MD5s.

    ``expected`` maps relative path -> [size, md5, ...]; ``must_check`` paths are always hashed
    (e.g. the objects just changed on the origin).
    """
    found = scan(dest) if dest.exists() else {}
    missing = sorted(expected.keys() - found.keys())
    extra = sorted(found.keys() - expected.keys())
    if missing or extra:
        first = (missing or extra)[0]
        return f"{len(missing)} missing, {len(extra)} unexpected files (e.g. {first})"
    wrong = [k for k, v in expected.items() if found[k] != v[0]]
    if wrong:
        return f"{len(wrong)} files with wrong size (e.g. {wrong[0]})"
    rng = random.Random(seed)
    picks = set(rng.sample(sorted(expected), min(sample, len(expected)))) | set(must_check)
    bad = [k for k in sorted(picks) if md5_file(dest / k) != expected[k][1]]
    if bad:
        return f"{len(bad)} of {len(picks)} sampled files with wrong MD5 (e.g. {bad[0]})"
    return None


def verify_listed(log: Path, count: int) -> str | None:
    """None if the peer's output says it listed exactly ``count`` keys."""
    found = re.findall(r"listed (\d+) objects", log.read_text(errors="replace"))
    if not found:
        return "the peer did not say how many keys it listed"
    if int(found[-1]) != count:
        return f"listed {found[-1]} keys, expected {count}"
    return None
