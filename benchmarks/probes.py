"""Measuring the origin alone, with plain HTTP clients (curl, wrk) and no S3 logic.

These figures are the ceiling the downloaders are compared with: if a peer gets close to
them, the origin (not the peer) is the limit and the cell says little. Over HTTPS curl is
given the harness's CA with --cacert and verifies the origin as the peers do.
"""

from __future__ import annotations

import re
import shlex
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import datasets

if TYPE_CHECKING:
    from origin import Origin

# The small-GETs probe runs only on objects up to this size.
SMALL_GET_LIMIT = 1 << 20
# The shaped check reads at most this much of the biggest object.
SHAPED_CHECK_BYTES = 32 << 20


@dataclass
class OriginStats:
    """Headline figures of the origin, measured in the same run as the peers; the per-scheme
    ones are keyed by 'http' and 'https'."""

    single_stream_gb_s: dict[str, float] = field(default_factory=dict)
    single_stream_object: str = ""
    small_gets_per_s: float = 0.0
    small_object_size: int = 0
    shaped_stream_mib_s: dict[str, float] = field(default_factory=dict)
    shaped_ttfb_ms: dict[str, float] = field(default_factory=dict)
    # Of the HTTPS time to first byte: the TCP and TLS handshakes (curl's time_appconnect).
    tls_handshake_ms: float = 0.0


def curl_config(
    path: Path, endpoint: str, bucket: str, keys: list[str], ca: Path | None = None
) -> Path:
    """A curl --config file that fetches every key to /dev/null (the per-cell ceiling)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f'cacert = "{ca}"\n'] if ca is not None else []
    lines += [f'url = "{endpoint}/{bucket}/{key}"\noutput = "/dev/null"\n' for key in keys]
    path.write_text("".join(lines))
    return path


def ceiling_argv(config: Path, connections: int = 64) -> list[str]:
    return [
        "curl", "--silent", "--show-error", "--fail", "--parallel", "--parallel-immediate",
        "--parallel-max", str(connections), "--config", str(config),
    ]  # fmt: skip


class ProbeError(RuntimeError):
    """A probe of the origin failed; the message has the HTTP status and the tool's exit code."""


def curl_stats(url: str, fmt: str, extra: tuple[str, ...] = ()) -> list[float]:
    """One curl transfer to /dev/null; returns the --write-out variables in ``fmt`` (space
    separated) as floats."""
    argv = ["curl", "--silent", "--show-error", "--fail", "-o", "/dev/null", *extra, url]
    out = subprocess.run([*argv, "-w", f"%{{http_code}} {fmt}"], capture_output=True, text=True)
    status, _, values = out.stdout.partition(" ")
    if out.returncode != 0:
        raise ProbeError(
            f"{shlex.join(argv)}: exit code {out.returncode}, HTTP status {status or '-'}: "
            f"{out.stderr.strip() or 'no message'}"
        )
    return [float(v) for v in values.split()]


def curl_stat(url: str, fmt: str, extra: tuple[str, ...] = ()) -> float:
    """One curl transfer to /dev/null; returns the --write-out variable ``fmt`` as a float."""
    return curl_stats(url, fmt, extra)[0]


def single_stream(url: str, tries: int = 3, extra: tuple[str, ...] = ()) -> float:
    """Median bytes/s of one connection pulling one object (after one warm-up)."""
    curl_stat(url, "%{speed_download}", extra)
    return statistics.median(curl_stat(url, "%{speed_download}", extra) for _ in range(tries))


def ttfb(url: str, tries: int = 5, extra: tuple[str, ...] = ()) -> tuple[float, float]:
    """Median time to first byte of a fresh connection on loopback, and median time of its
    handshakes (TCP, and TLS over HTTPS), in seconds."""
    fmt = "%{time_starttransfer} %{time_appconnect}"
    samples = [curl_stats(url, fmt, extra) for _ in range(tries)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def small_gets(endpoint: str, bucket: str, keys: list[str], seconds: int, script: Path) -> float:
    """GETs/s that wrk sustains over 64 keep-alive connections, cycling through ``keys``."""
    script.parent.mkdir(parents=True, exist_ok=True)
    paths = ",\n".join(f'"/{bucket}/{k}"' for k in keys)
    script.write_text(
        "local paths = {\n" + paths + "\n}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n'
    )
    run = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{seconds}s", "-s", str(script), endpoint],
        capture_output=True,
        text=True,
    )
    out = run.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if run.returncode != 0 or not m or "Non-2xx" in out or "Socket errors" in out:
        raise ProbeError(f"wrk exit code {run.returncode}, or it saw errors:\n{out}{run.stderr}")
    return float(m.group(1))


@dataclass(frozen=True)
class Targets:
    """What the origin probes fetch: the biggest object, and all the smallest objects of the
    dataset that has the smallest one."""

    big_bucket: str
    big_key: str
    big_size: int
    small_bucket: str
    small_keys: list[str]
    small_size: int

    @classmethod
    def of(cls, objects: list[tuple[int, str, str]]) -> Targets:
        """From (size, bucket, key) of every object the cells download."""
        big = max(objects)
        small = min(objects)
        keys = sorted(k for size, b, k in objects if b == small[1] and size == small[0])
        return cls(big[1], big[2], big[0], small[1], keys, small[0])


def measure_origin(
    org: Origin, ca: Path, targets: Targets, *, quick: bool, shaped: bool,
    schemes: list[bool], work: Path,
) -> OriginStats:  # fmt: skip
    """Headline figures of the origin alone: one stream on the biggest object (HTTP, and HTTPS
    if selected), small GETs/s (HTTP), and the shaped listener's check per selected scheme."""
    stats = OriginStats(single_stream_object=f"1 x {datasets.size_label(targets.big_size)} object")
    path = f"/{targets.big_bucket}/{targets.big_key}"
    stats.single_stream_gb_s["http"] = single_stream(org.endpoint(False) + path) / 1e9
    # With only big objects selected (--cells large) there is no small GET to time: wrk
    # would spend its seconds on one 256 MiB body and report a timeout.
    if targets.small_size <= SMALL_GET_LIMIT:
        stats.small_gets_per_s = small_gets(
            org.endpoint(False), targets.small_bucket, targets.small_keys, 1 if quick else 3,
            work / "wrk-small.lua",
        )  # fmt: skip
        stats.small_object_size = targets.small_size
    for tls in schemes:
        extra = ("--cacert", str(ca)) if tls else ()
        name = "https" if tls else "http"
        if tls:
            rate = single_stream(org.endpoint(False, tls) + path, 3, extra)
            stats.single_stream_gb_s[name] = rate / 1e9
        if shaped:
            shaped_check(stats, org, targets, tls, extra)
    return stats


def shaped_check(
    stats: OriginStats, org: Origin, targets: Targets, tls: bool, extra: tuple[str, ...]
) -> None:
    """One stream's rate (on up to 32 MiB of the biggest object) and the time to first byte
    of a small object, on the shaped listener, over one scheme."""
    name = "https" if tls else "http"
    endpoint = org.endpoint(True, tls)
    cap = str(min(targets.big_size, SHAPED_CHECK_BYTES) - 1)
    big = f"{endpoint}/{targets.big_bucket}/{targets.big_key}"
    stats.shaped_stream_mib_s[name] = single_stream(big, 1, (*extra, "-r", f"0-{cap}")) / (1 << 20)
    small = f"{endpoint}/{targets.small_bucket}/{targets.small_keys[0]}"
    first_byte, handshake = ttfb(small, 5, extra)
    stats.shaped_ttfb_ms[name] = first_byte * 1000
    if tls:
        stats.tls_handshake_ms = handshake * 1000
