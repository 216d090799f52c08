"""Measuring the origin alone, with plain HTTP clients (curl, wrk) and no S3 logic.

These figures are the ceiling the downloaders are compared with: if a peer gets close to
them, the origin (not the peer) is the limit and the cell says little.
"""

from __future__ import annotations

import re
import shlex
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class OriginStats:
    """Headline figures of the origin, measured in the same run as the peers."""

    single_stream_gb_s: float = 0.0
    single_stream_object: str = ""
    small_gets_per_s: float = 0.0
    small_object_size: int = 0
    shaped_stream_mib_s: float = 0.0
    shaped_ttfb_ms: float = 0.0


def curl_config(path: Path, endpoint: str, bucket: str, keys: list[str]) -> Path:
    """A curl --config file that fetches every key to /dev/null (the per-cell ceiling)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f'url = "{endpoint}/{bucket}/{key}"\noutput = "/dev/null"\n' for key in keys]
    path.write_text("".join(lines))
    return path


def ceiling_argv(config: Path, connections: int = 64) -> list[str]:
    return [
        "curl", "--silent", "--show-error", "--fail", "--parallel", "--parallel-immediate",
        "--parallel-max", str(connections), "--config", str(config),
    ]  # fmt: skip


class ProbeError(RuntimeError):
    """A probe of the origin failed; the message has the HTTP status and the tool's exit code."""


def curl_stat(url: str, fmt: str, extra: tuple[str, ...] = ()) -> float:
    """One curl transfer to /dev/null; returns the --write-out variable ``fmt`` as a float."""
    argv = ["curl", "--silent", "--show-error", "--fail", "-o", "/dev/null", *extra, url]
    out = subprocess.run([*argv, "-w", f"%{{http_code}} {fmt}"], capture_output=True, text=True)
    status, _, value = out.stdout.partition(" ")
    if out.returncode != 0:
        raise ProbeError(
            f"{shlex.join(argv)}: exit code {out.returncode}, HTTP status {status or '-'}: "
            f"{out.stderr.strip() or 'no message'}"
        )
    return float(value)


def single_stream(url: str, tries: int = 3, extra: tuple[str, ...] = ()) -> float:
    """Median bytes/s of one connection pulling one object (after one warm-up)."""
    curl_stat(url, "%{speed_download}", extra)
    return statistics.median(curl_stat(url, "%{speed_download}", extra) for _ in range(tries))


def ttfb(url: str, tries: int = 5) -> float:
    """Median time to first byte, in seconds, of a fresh connection on loopback."""
    return statistics.median(curl_stat(url, "%{time_starttransfer}") for _ in range(tries))


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
