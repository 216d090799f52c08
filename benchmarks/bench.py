"""Running the cells: each selected peer, warm-ups then measured runs, every run verified.

Peers take turns within each repetition (peer A run 1, peer B run 1, ..., peer A run 2, ...),
in a new random order each time, so that slow drifts in machine load, and whatever the run
before left behind, spread over all peers instead of hitting one. A download cell runs its
HTTP and HTTPS turns together the same way (each peer once per scheme in every repetition),
so that the ratio of a peer's HTTPS to its HTTP figure is not one of two moments' loads.

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
    """Measured series of one cell in one origin mode and scheme, with what a run moves."""

    cell: str
    shaped: bool
    dataset: datasets.Dataset
    bytes_moved: int
    objects: int
    tls: bool = False
    series: dict[str, measure.Series] = field(default_factory=dict)
    settings: dict[str, list[str]] = field(default_factory=dict)


def scheme(tls: bool) -> str:
    return "https" if tls else "http"


def label(res: CellResult) -> str:
    """'small/shaped/https': where a run's log goes and how its line starts."""
    return f"{res.cell}/{'shaped' if res.shaped else 'plain'}/{scheme(res.tls)}"


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

    def __init__(
        self, opts: Options, store: datasets.Store, origin: Origin, envs: Envs, ca: Path,
        launcher: measure.Launcher,
    ) -> None:  # fmt: skip
        self.launcher = launcher
        self.opts = opts
        self.ca = ca
        self.store = store
        self.origin = origin
        self.envs = envs
        self.env = peer_env(opts.work)
        self.failures = 0
        self.rng = random.Random()
        self.trash = Trash(opts.dest_root / ".trash", opts.settle)

    def argv(self, peer: str, res: CellResult, dest: Path) -> list[str]:
        """The command line that runs ``peer`` on the cell's listener (plain or shaped, HTTP
        or HTTPS); over HTTPS a peer that takes the CA as an option gets it here."""
        spec = lineup.PEERS[peer]
        ds = res.dataset
        endpoint = self.origin.endpoint(res.shaped, res.tls)
        ca = self.ca if res.tls else None
        if peer == "ceiling":
            keys = sorted(self.store.prefix_index(ds))
            name = f"{ds.bucket}-{label(res).split('/', 1)[1].replace('/', '-')}.cfg"
            path = self.opts.work / "curl" / name
            return probes.ceiling_argv(probes.curl_config(path, endpoint, ds.bucket, keys, ca))
        common = ["--endpoint", endpoint, "--bucket", ds.bucket, "--prefix", datasets.PREFIX]
        if ca is not None and spec.ca == lineup.CA_BUNDLE_ARG:
            common += [lineup.CA_BUNDLE_ARG, str(ca)]
        settings = spec.settings(lineup.dataset_kind(res.cell), res.shaped, res.tls)
        if res.cell == "listing" and not spec.probe:
            settings = [*settings, "--list-only"]
        python = str(self.envs.python(spec.env))
        return [python, str(PEERS_DIR / spec.script), *common, "--dest", str(dest), *settings]

    def env_for(self, peer: str, tls: bool) -> dict[str, str]:
        """The peer's environment; over HTTPS with the CA in the one variable it reads."""
        var = lineup.PEERS[peer].ca
        if tls and var in (lineup.AWS_CA_BUNDLE, lineup.SSL_CERT_FILE):
            return {**self.env, var: str(self.ca)}
        return self.env

    def measure(
        self, label: str, argv: list[str], env: dict[str, str], dest: Path | None,
        expected: dict[str, list], must_check: list[str], seed: int, listed: int | None = None,
    ) -> measure.Run:  # fmt: skip
        """One run; downloads (dest given) are verified against the origin's index, a
        listing (``listed``) by the count of keys the peer says it listed."""
        log = self.opts.work / "logs" / f"{label}.log"
        run = self.launcher.run(argv, env, log, self.opts.timeout)
        if run.error is None and listed is not None:
            run.error = measure.verify_listed(log, listed)
        elif run.error is None and dest is not None:
            run.error = measure.verify(dest, expected, self.opts.verify_sample, seed, must_check)
        status = "ok" if run.error is None else f"FAILED: {run.error} (log: {log})"
        print(f"    {label:<54} {run.wall:8.2f} s  cpu {run.cpu:7.2f} s  {status}", flush=True)
        if run.error is not None:
            self.failures += 1
        return run

    def expected(self, ds: datasets.Dataset) -> dict[str, list]:
        """Relative path below the destination -> [size, md5, last-modified]."""
        cut = len(datasets.PREFIX)
        return {k[cut:]: v for k, v in self.store.prefix_index(ds).items()}

    def turns(
        self, results: list[CellResult], peers: list[str], dest_of: Callable[[str], Path],
        prepare: Callable[[int], list[str]], discard: bool = False,
    ) -> None:  # fmt: skip
        """Warm-ups then measured runs of every peer in each of ``results`` (one per scheme,
        same cell and mode); ``prepare(rep)`` readies the origin and destinations and returns
        the paths whose MD5 must be checked on top of the random sample. ``discard`` moves
        each download aside as soon as it is verified."""
        for rep in range(self.opts.warmups + self.opts.runs):
            tag = "warm-up" if rep < self.opts.warmups else f"run {rep - self.opts.warmups + 1}"
            must_check = prepare(rep)
            listing_cell = results[0].cell == "listing"
            expected = {} if listing_cell else self.expected(results[0].dataset)
            units = [
                (res, peer)
                for res in results
                for peer in peers
                if rep in lineup.PEERS[peer].runs_in(res.cell, self.opts.warmups, self.opts.runs)
            ]
            for res, peer in self.rng.sample(units, len(units)):
                dest = dest_of(peer)
                argv = self.argv(peer, res, dest)
                listing = res.cell == "listing" or lineup.lists_only(peer)
                check = None if lineup.PEERS[peer].probe or listing else dest
                self.trash.make_room(0 if listing else 2 * res.dataset.total_bytes + (1 << 30))
                self.trash.settle()
                env = self.env_for(peer, res.tls)
                name = f"{label(res)}/{peer}/{tag}"
                listed = res.dataset.count if listing else None
                run = self.measure(name, argv, env, check, expected, must_check, rep, listed)
                if discard:
                    self.trash.discard(dest)
                if rep >= self.opts.warmups:
                    res.series.setdefault(peer, measure.Series()).runs.append(run)
        for res in results:
            # The table lists peers in the lineup's order, whatever order they ran in.
            res.series = {peer: res.series[peer] for peer in peers if peer in res.series}
            kind = lineup.dataset_kind(res.cell)
            res.settings = {
                peer: lineup.PEERS[peer].settings(kind, res.shaped, res.tls) for peer in peers
            }

    def download_cell(
        self, cell: str, ds: datasets.Dataset, shaped: bool, schemes: list[bool],
        peers: list[str],
    ) -> list[CellResult]:  # fmt: skip
        """Every peer downloads the whole dataset into an emptied destination, in turns, over
        each of ``schemes`` (False: HTTP, True: HTTPS)."""
        results = [CellResult(cell, shaped, ds, ds.total_bytes, ds.count, tls) for tls in schemes]
        for peer in peers:
            self.trash.discard(self.dest_dir(peer))
        self.turns(results, peers, self.dest_dir, lambda rep: [], discard=True)
        return results

    def listing_cell(
        self, ds: datasets.Dataset, shaped: bool, schemes: list[bool], peers: list[str]
    ) -> list[CellResult]:
        """Every peer lists the prefix of an index-only bucket, in turns; nothing is fetched,
        and each run must say it listed every key."""
        results = [CellResult("listing", shaped, ds, 0, ds.count, tls) for tls in schemes]
        self.turns(results, peers, self.dest_dir, lambda rep: [], discard=True)
        return results

    def dest_dir(self, peer: str) -> Path:
        return self.opts.dest_root / peer

    def sync_cells(
        self, cells: list[str], ds: datasets.Dataset, shaped: bool, tls: bool, peers: list[str]
    ) -> list[CellResult]:
        """Seed a destination with one full fetch, then rerun on it: unchanged (cache hit),
        then with a fraction of the objects rewritten on the origin before every run. One
        scheme at a time: the objects one run brought up to date are the next one's hits."""
        dest = self.opts.dest_root / ds.name
        self.trash.discard(dest)
        self.trash.settle()
        seed_res = CellResult(ds.name, shaped, ds, 0, ds.count, tls)
        seed = self.measure(
            f"{label(seed_res)}/seed (full fetch)", self.argv("aio_s3_ingest", seed_res, dest),
            self.env_for("aio_s3_ingest", tls), dest, self.expected(ds), [], 0,
        )  # fmt: skip
        results = [CellResult(cell, shaped, ds, 0, ds.count, tls) for cell in cells]
        for res in results:
            if seed.error is not None:
                res.series["aio_s3_ingest"] = measure.Series([seed])
            elif res.cell.endswith("-hit"):  # a listing alone goes to an empty directory
                self.turns(
                    [res],
                    peers,
                    lambda p: self.dest_dir(p) if lineup.lists_only(p) else dest,
                    lambda rep: [],
                )
            else:
                self.turns([res], peers, lambda peer: dest, lambda rep, res=res: self.change(res))
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
