"""Running the cells: each selected peer, warm-ups then measured runs, every run verified.

Peers take turns within each repetition (peer A run 1, peer B run 1, ..., peer A run 2, ...),
in a new random order each time, so that slow drifts in machine load, and whatever the run
before left behind, spread over all peers instead of hitting one.

A finished download is moved aside, not deleted, before the next run: see trash.py for why
deleting files right before a run measures the filesystem, not the peer.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import lineup
import measure
import probes
from envs import Envs
from origin import Origin
from trash import Trash

HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE / "peers"


@dataclass
class Options:
    """The knobs of one harness invocation that the cell runner needs."""

    work: Path
    dest_root: Path
    warmups: int
    runs: int
    timeout: float
    verify_sample: int
    change_fraction: float
    settle: float


@dataclass
class CellResult:
    """Measured series of one cell in one origin mode, with what a run moves."""

    cell: str
    shaped: bool
    dataset: datasets.Dataset
    bytes_moved: int
    objects: int
    series: dict[str, measure.Series] = field(default_factory=dict)
    settings: dict[str, list[str]] = field(default_factory=dict)


def peer_env(work: Path) -> dict[str, str]:
    """Dummy credentials, a path-style AWS config, no proxies, no metadata lookups."""
    config = work / "aws-config"
    config.write_text("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n")
    (work / "aws-credentials").write_text("")
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "NO_PROXY": "*",
    }
    return env


class Bench:
    """Owns the store, origin and environments for one invocation and runs cells on them."""

    def __init__(self, opts: Options, store: datasets.Store, origin: Origin, envs: Envs) -> None:
        self.opts = opts
        self.store = store
        self.origin = origin
        self.envs = envs
        self.env = peer_env(opts.work)
        self.failures = 0
        self.rng = random.Random()
        self.trash = Trash(opts.dest_root / ".trash", opts.settle)

    def argv(
        self, peer: str, cell: str, ds: datasets.Dataset, shaped: bool, dest: Path
    ) -> list[str]:
        """The command line that runs ``peer`` against the dataset (plain or shaped listener)."""
        spec = lineup.PEERS[peer]
        endpoint = self.origin.endpoint(shaped)
        if peer == "ceiling":
            keys = sorted(self.store.prefix_index(ds))
            name = f"{ds.bucket}-{'shaped' if shaped else 'plain'}.cfg"
            cfg = probes.curl_config(self.opts.work / "curl" / name, endpoint, ds.bucket, keys)
            return probes.ceiling_argv(cfg)
        common = ["--endpoint", endpoint, "--bucket", ds.bucket, "--prefix", datasets.PREFIX]
        settings = spec.settings(lineup.dataset_kind(cell), shaped)
        python = str(self.envs.python(spec.env))
        return [python, str(PEERS_DIR / spec.script), *common, "--dest", str(dest), *settings]

    def measure(
        self, label: str, argv: list[str], dest: Path | None, expected: dict[str, list],
        must_check: list[str], seed: int,
    ) -> measure.Run:  # fmt: skip
        """One run; downloads (dest given) are verified against the origin's index."""
        log = self.opts.work / "logs" / f"{label}.log"
        run = measure.run_process(argv, self.env, log, self.opts.timeout)
        if run.error is None and dest is not None:
            run.error = measure.verify(dest, expected, self.opts.verify_sample, seed, must_check)
        status = "ok" if run.error is None else f"FAILED: {run.error} (log: {log})"
        print(f"    {label:<48} {run.wall:8.2f} s  cpu {run.cpu:7.2f} s  {status}", flush=True)
        if run.error is not None:
            self.failures += 1
        return run

    def expected(self, ds: datasets.Dataset) -> dict[str, list]:
        """Relative path below the destination -> [size, md5, last-modified]."""
        cut = len(datasets.PREFIX)
        return {k[cut:]: v for k, v in self.store.prefix_index(ds).items()}

    def turns(
        self, res: CellResult, peers: list[str], dest_of: Callable[[str], Path],
        prepare: Callable[[int], list[str]], discard: bool = False,
    ) -> None:  # fmt: skip
        """Warm-ups then measured runs; ``prepare(rep)`` readies the origin and destinations and
        returns the paths whose MD5 must be checked on top of the random sample. ``discard``
        moves each download aside as soon as it is verified."""
        mode = "shaped" if res.shaped else "plain"
        for rep in range(self.opts.warmups + self.opts.runs):
            tag = "warm-up" if rep < self.opts.warmups else f"run {rep - self.opts.warmups + 1}"
            must_check = prepare(rep)
            expected = self.expected(res.dataset)
            for peer in self.rng.sample(peers, len(peers)):
                dest = dest_of(peer)
                argv = self.argv(peer, res.cell, res.dataset, res.shaped, dest)
                check = None if lineup.PEERS[peer].probe else dest
                label = f"{res.cell}/{mode}/{peer}/{tag}"
                self.trash.make_room(2 * res.dataset.total_bytes + (1 << 30))
                self.trash.settle()
                run = self.measure(label, argv, check, expected, must_check, rep)
                if discard:
                    self.trash.discard(dest)
                if rep >= self.opts.warmups:
                    res.series.setdefault(peer, measure.Series()).runs.append(run)
        # The table lists peers in the lineup's order, whatever order they ran in.
        res.series = {peer: res.series[peer] for peer in peers if peer in res.series}
        for peer in peers:
            res.settings[peer] = lineup.PEERS[peer].settings(
                lineup.dataset_kind(res.cell), res.shaped
            )

    def download_cell(
        self, cell: str, ds: datasets.Dataset, shaped: bool, peers: list[str]
    ) -> CellResult:
        """Every peer downloads the whole dataset into an emptied destination, in turns."""
        res = CellResult(cell, shaped, ds, ds.total_bytes, ds.count)
        for peer in peers:
            self.trash.discard(self.dest_dir(peer))
        self.turns(res, peers, self.dest_dir, lambda rep: [], discard=True)
        return res

    def dest_dir(self, peer: str) -> Path:
        return self.opts.dest_root / peer

    def sync_cells(
        self, cells: list[str], ds: datasets.Dataset, shaped: bool, peers: list[str]
    ) -> list[CellResult]:
        """Seed a destination with one full fetch, then rerun on it: unchanged (cache hit),
        then with a fraction of the objects rewritten on the origin before every run."""
        mode = "shaped" if shaped else "plain"
        dest = self.opts.dest_root / "sync"
        self.trash.discard(dest)
        self.trash.settle()
        seed_argv = self.argv("aio_s3_ingest", "sync-hit", ds, shaped, dest)
        seed = self.measure(
            f"sync/{mode}/seed (full fetch)", seed_argv, dest, self.expected(ds), [], 0
        )
        results = []
        if seed.error is not None:
            for cell in cells:
                res = CellResult(cell, shaped, ds, 0, ds.count)
                res.series["aio_s3_ingest"] = measure.Series([seed])
                results.append(res)
            return results
        if "sync-hit" in cells:
            res = CellResult("sync-hit", shaped, ds, 0, ds.count)
            self.turns(res, peers, lambda peer: dest, lambda rep: [])
            results.append(res)
        if "sync-1pct" in cells:
            res = CellResult("sync-1pct", shaped, ds, 0, ds.count)
            self.turns(res, peers, lambda peer: dest, lambda rep: self.change(res))
            results.append(res)
        self.trash.discard(dest)
        return results

    def change(self, res: CellResult) -> list[str]:
        """Rewrite a fraction of the sync dataset on the origin; returns the changed paths."""
        ds = res.dataset
        keys = self.store.rewrite_fraction(ds, self.opts.change_fraction, self.rng.randrange(2**32))
        self.origin.reload_bucket(ds.bucket)
        index = self.store.load_index(ds)
        res.bytes_moved = sum(index[k][0] for k in keys)
        return [k[len(datasets.PREFIX) :] for k in keys]
