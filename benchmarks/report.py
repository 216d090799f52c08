"""The results page: machine description, origin figures, and one Markdown table.

MB/s is decimal (10^6 bytes per second). Ratios are throughput ratios: above 1 means faster
than the reference peer in the same cell, origin mode and scheme; "https vs http" compares a
peer's HTTPS row with its own HTTP row in the same cell and mode.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import datasets
import lineup
from bench import CellResult, scheme
from probes import OriginStats

HEADER = (
    "| cell | origin | scheme | peer | settings | runs | median s | min-max s | MB/s | objects/s "
    "| CPU s | peak RSS MiB | vs s5cmd-tuned | vs baseline | https vs http | notes |"
)
# (cell, shaped, peer) -> the HTTP row's throughput, for the HTTPS row's "https vs http"
HttpRates = dict[tuple[str, bool, str], float]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _field(text: str, name: str) -> str:
    for line in text.splitlines():
        key, sep, value = line.partition(":" if ":" in line else "=")
        if sep and key.strip() == name:
            return value.strip().strip('"')
    return "unknown"


def tool_version(argv: list[str]) -> str:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    out = (res.stdout + res.stderr).strip().splitlines()
    return out[0].strip() if out else "unknown"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    mem_kib = _field(_read("/proc/meminfo"), "MemTotal").split()[0]
    ram = f"{int(mem_kib) / (1 << 20):.1f} GiB" if mem_kib.isdigit() else "unknown"
    cpuinfo = _read("/proc/cpuinfo")
    return {
        "CPU": f"{_field(cpuinfo, 'model name')} ({_field(cpuinfo, 'cpu MHz')} MHz)",
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": _field(_read("/etc/os-release"), "PRETTY_NAME"),
        "kernel": platform.release(),
        "Python (peers)": platform.python_version(),
        "nginx": tool_version(["nginx", "-v"]).rpartition(" ")[2],
        "curl": " ".join(tool_version(["curl", "--version"]).split()[:2]),
        "wrk": " ".join(tool_version(["wrk", "-v"]).split()[:2]),
    }


def mount_of(path: Path) -> str:
    """'ext4 on /dev/vda' for the filesystem holding path (from /proc/mounts)."""
    best = ("", "unknown", "unknown")
    target = str(path.resolve())
    for line in _read("/proc/mounts").splitlines():
        dev, point, fstype, *_ = line.split()
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, fstype, dev)
    return f"{best[1]} on {best[2]}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _rates(res: CellResult, peer: str, wall: float) -> tuple[float | None, float]:
    """(MB/s, objects/s) for one median wall time; a cache hit or a listing moves no bytes."""
    mb_s = res.bytes_moved / wall / 1e6 if res.bytes_moved and not lineup.lists_only(peer) else None
    return mb_s, res.objects / wall


def _settings(args: list[str]) -> str:
    pairs = [f"{a.lstrip('-')}={b}" for a, b in zip(args[::2], args[1::2], strict=False)]
    return " ".join(pairs) or "defaults"


def _throughput(res: CellResult, peer: str) -> float | None:
    """MB/s, or objects/s where no bytes move (cache hits, the listing); None if all failed."""
    series = res.series[peer]
    if not series.ok:
        return None
    mb_s, obj_s = _rates(res, peer, series.median("wall"))
    return obj_s if mb_s is None else mb_s


def _ratios(
    res: CellResult, peer: str, mb_s: float | None, refs: dict[str, float], http: HttpRates
) -> list[str]:
    """vs each reference peer (same scheme), then https vs http (same peer)."""
    out = []
    for ref in lineup.REFERENCES:
        ok = ref in refs and ref != peer and mb_s is not None and not lineup.PEERS[peer].probe
        out.append(f"{mb_s / refs[ref]:.2f}x" if ok and mb_s else "-")
    own, base = _throughput(res, peer), http.get((res.cell, res.shaped, peer))
    out.append(f"{own / base:.2f}x" if res.tls and own and base else "-")
    return out


def _notes(res: CellResult, peer: str, wall: float) -> str:
    series = res.series[peer]
    notes = []
    if series.errors:
        notes.append(f"{len(series.errors)} failed run(s)")
    if peer not in lineup.LISTING_ROWS:
        for row in lineup.LISTING_ROWS:
            if row in res.series and res.series[row].ok:
                notes.append(f"{wall / res.series[row].median('wall'):.2f}x {row} time")
    return "; ".join(notes)


def _row(res: CellResult, peer: str, refs: dict[str, float], http: HttpRates) -> str:
    series = res.series[peer]
    mode = "shaped" if res.shaped else "plain"
    head = [res.cell, mode, scheme(res.tls), peer, _settings(res.settings.get(peer, []))]
    runs = f"{len(series.ok)}/{len(series.runs)}"
    if not series.ok:
        note = "; ".join(sorted(set(series.errors)))[:200].replace("|", "/")
        return "| " + " | ".join([*head, runs, *["-"] * 9, f"FAILED: {note}"]) + " |"
    wall = series.median("wall")
    mb_s, obj_s = _rates(res, peer, wall)
    walls = [r.wall for r in series.ok]
    cells = [
        *head, runs, _fmt(wall), f"{min(walls):.2f}-{max(walls):.2f}", _fmt(mb_s, 1),
        _fmt(obj_s, 0 if obj_s >= 100 else 1), _fmt(series.median("cpu")),
        _fmt(series.median("maxrss_kib") / 1024, 0), *_ratios(res, peer, mb_s, refs, http),
        _notes(res, peer, wall),
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def table(results: list[CellResult]) -> list[str]:
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    http: HttpRates = {}
    for res in results:
        for peer in res.series if not res.tls else ():
            if (rate := _throughput(res, peer)) is not None:
                http[res.cell, res.shaped, peer] = rate
    for res in results:
        refs = {}
        for ref in lineup.REFERENCES:
            series = res.series.get(ref)
            if series and series.ok and res.bytes_moved:
                refs[ref] = res.bytes_moved / series.median("wall") / 1e6
        lines += [_row(res, peer, refs, http) for peer in res.series]
    return lines


def origin_lines(stats: OriginStats) -> list[str]:
    """The origin's own figures, per scheme where they were measured over both."""
    out = []
    for name, rate in stats.single_stream_gb_s.items():
        how = "curl --cacert" if name == "https" else "curl"
        out.append(
            f"- single stream, {name}: {rate:.2f} GB/s "
            f"({how}, {stats.single_stream_object} to /dev/null, median of 3)"
        )
    if stats.small_object_size:
        out.append(
            f"- small GETs, http: {stats.small_gets_per_s:,.0f}/s (wrk, 1 thread, "
            f"64 connections, {datasets.size_label(stats.small_object_size)} objects)"
        )
    else:
        out.append("- small GETs: not measured (no object of at most 1 MiB in these cells)")
    for name, first_byte in stats.shaped_ttfb_ms.items():
        tls = name == "https"
        handshake = f" ({stats.tls_handshake_ms:.1f} ms of it handshakes)" if tls else ""
        out.append(
            f"- shaped listener check, {name}: {stats.shaped_stream_mib_s[name]:.1f} MiB/s on "
            f"one stream, {first_byte:.1f} ms to first byte{handshake}"
        )
    return out


def render(
    results: list[CellResult], info: dict[str, str], versions: dict[str, str],
    stats: OriginStats, context: dict[str, str],
) -> str:  # fmt: skip
    """The whole RESULTS.md text."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# Benchmark results", "", f"Generated {now} by `{context['command']}`.", ""]
    out += ["## Machine", "", *[f"- {k}: {v}" for k, v in info.items()], ""]
    out += ["## Peer packages", "", *[f"- {k}: {v}" for k, v in versions.items()], ""]
    out += ["## Origin", "", f"- {context['origin']}", *origin_lines(stats)]
    out += ["", "## Datasets", "", *[f"- {line}" for line in context["datasets"].splitlines()]]
    out += ["", "## Results", "", context["runs"], "", *table(results), ""]
    out += ["Column meanings: see benchmarks/README.md.", ""]
    return "\n".join(out)
