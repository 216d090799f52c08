"""Who is measured, with which settings, in which cells.

A peer is a row label, the environment and script that run it, its settings per dataset
kind and origin mode, and how it is told to trust the harness's CA over HTTPS. "Tuned"
settings are what worked best here by hand; edit them below. The ceiling (curl) and listing
(aiobotocore) rows are probes: measured the same way, but they write nothing to disk and so
are not verified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CELLS = ("small", "large", "mixed", "scale", "sync-hit", "sync-1pct", "scale-hit", "listing")
DOWNLOAD_CELLS = ("small", "large", "mixed", "scale")
# Listing alone: the downloaders list the prefix (--list-only) and fetch nothing.
LISTING_PEERS = ("aio_s3_ingest", "s5cmd", "listing")
SYNC_CELLS = ("sync-hit", "sync-1pct")
SCALE_HIT_CELLS = ("scale-hit",)
# On the shaped origin, 100,000 requests of 20 ms each would measure only how many are in
# flight (the small cell does that); the scale cells run on the plain origin.
PLAIN_ONLY = ("scale", "scale-hit")
# Many small objects: a full fetch by the tools people use for it, then a cache hit
# beside the listing of the same prefix alone (ours, s5cmd's, a paginated one).
SCALE_PEERS = ("aio_s3_ingest", "aio_s3_ingest-tuned", "s5cmd-tuned", "awscli")
SCALE_HIT_PEERS = ("aio_s3_ingest", "aio_s3_ingest-list", "s5cmd-ls", "listing")
# Rows that time a listing alone, the yardsticks of a cache hit.
LISTING_ROWS = ("aio_s3_ingest-list", "s5cmd-ls", "listing")
_KINDS = {"sync-hit": "sync", "sync-1pct": "sync", "scale-hit": "scale"}

# A peer's settings for a dataset kind, the origin mode (shaped or not) and the scheme
# (HTTPS or not).
Settings = Callable[[str, bool, bool], list[str]]


def fixed(*args: str) -> Settings:
    """Settings that do not depend on the dataset, the origin mode or the scheme."""
    return lambda kind, shaped, tls: list(args)


def aio_tuned(kind: str, shaped: bool, tls: bool) -> list[str]:
    """Small objects: two processes (one core each) and more files in flight. Big objects:
    one process (a second one measured slower here for the large and mixed sets, 5
    interleaved runs), and ranged GETs per object: two on the plain origin, more behind
    the shaped origin's cap per connection. The mix takes sixteen (since its 1 MiB
    objects are spliced too: 0.636 s, against 0.700 s for eight, 6 interleaved runs).
    The large objects take eight: with sixteen writers per file, the runs on the
    benchmark VM that hit slow page-cache memory (see the README's caveats) spin on the
    file's lock and double their CPU. Three-peer reruns of the cell, 5 runs each: 8
    parts 1.03 and 1.05 s (2.77x and 2.64x the baseline), 12 parts 0.98 s (2.47x), 16
    parts 1.28 s (2.31x).
    Over HTTPS on the plain origin one GET per object: each ranged GET is one more thread
    decrypting, and the threads then pass the GIL to each other more often (large set,
    medians of 3 in one run: 1.49 s with one part, 1.58 s with two; the mix 1.26 s
    against 1.44 s)."""
    if kind in ("small", "sync", "scale"):
        return ["--max-concurrent-files", "128", "--workers-per-file", "1", "--processes", "2"]
    plain_parts = "1" if tls else "2"
    parts = ("8" if kind == "large" else "16") if shaped else plain_parts
    return ["--max-concurrent-files", "64", "--workers-per-file", parts, "--processes", "1"]


def s5cmd_tuned(kind: str, shaped: bool, tls: bool) -> list[str]:
    """64 workers instead of 256 on 2 cores. Big objects: on the plain origin s5cmd's own part
    settings (5 x 50 MiB) beat every variant tried; on the shaped origin more, smaller parts win."""
    if kind in ("small", "scale") or not shaped:
        return ["--numworkers", "64"]
    return ["--numworkers", "64", "--concurrency", "16", "--part-size", "8"]


# How a peer takes the CA file over HTTPS: the environment variable it reads (botocore's
# AWS_CA_BUNDLE; SSL_CERT_FILE for Go's crypto/x509), or a command-line option (curl's
# --cacert, in its config file; the obstore script's --ca-bundle). Only that one is given,
# so a peer that ignored it would fail to verify the origin instead of passing unchecked.
AWS_CA_BUNDLE = "AWS_CA_BUNDLE"
SSL_CERT_FILE = "SSL_CERT_FILE"
CACERT = "--cacert"
CA_BUNDLE_ARG = "--ca-bundle"


@dataclass(frozen=True)
class Peer:
    """One row of the results table."""

    name: str
    env: str
    script: str
    settings: Settings
    probe: bool = False
    ca: str = AWS_CA_BUNDLE
    cells: tuple[str, ...] = CELLS  # the cells it takes part in
    # Cells where the peer is too slow for warm-ups and every run: (cell, measured runs).
    few_runs: tuple[tuple[str, int], ...] = ()

    def runs_in(self, cell: str, warmups: int, runs: int) -> range:
        """The repetitions of a cell (warm-ups first) this peer takes part in."""
        few = dict(self.few_runs).get(cell)
        return range(warmups + runs) if few is None else range(warmups, warmups + few)


PEERS = {
    p.name: p
    for p in (
        Peer("ceiling", "", "", fixed(), probe=True, ca=CACERT),
        Peer(
            "aio_s3_ingest",
            "aio",
            "aio_s3_ingest_peer.py",
            fixed("--max-concurrent-files", "64", "--workers-per-file", "1"),
        ),
        Peer("aio_s3_ingest-tuned", "aio", "aio_s3_ingest_peer.py", aio_tuned),
        Peer(
            "aio_s3_ingest-noverify",
            "aio",
            "aio_s3_ingest_peer.py",
            fixed("--max-concurrent-files", "64", "--workers-per-file", "1", "--verify", "off"),
            cells=("small", "large"),
        ),
        Peer(
            "aiobotocore-loop", "aiobotocore", "aiobotocore_loop.py", fixed("--concurrency", "64")
        ),
        Peer("baseline", "boto3", "boto3_threads.py", fixed("--threads", "64")),
        Peer("s5cmd", "s5cmd", "s5cmd_peer.py", fixed(), ca=SSL_CERT_FILE),
        Peer("s5cmd-tuned", "s5cmd", "s5cmd_peer.py", s5cmd_tuned, ca=SSL_CERT_FILE),
        # 100,000 objects take aws s3 cp about eight minutes a run here: one run, no warm-up.
        Peer("awscli", "awscli", "awscli_peer.py", fixed(), few_runs=(("scale", 1),)),
        Peer("s3fs", "s3fs", "s3fs_peer.py", fixed()),
        Peer(
            "obstore", "obstore", "obstore_peer.py", fixed("--concurrency", "64"), ca=CA_BUNDLE_ARG
        ),
        Peer("listing", "aiobotocore", "list_only.py", fixed(), probe=True),
        Peer(
            "aio_s3_ingest-list",
            "aio",
            "aio_s3_ingest_peer.py",
            fixed("--list-only"),
            probe=True,
            cells=("scale-hit",),
        ),
        Peer(
            "s5cmd-ls",
            "s5cmd",
            "s5cmd_peer.py",
            fixed("--numworkers", "64", "--list-only"),
            probe=True,
            ca=SSL_CERT_FILE,
            cells=("scale-hit",),
        ),
    )
}

DOWNLOAD_PEERS = tuple(n for n in PEERS if n not in LISTING_ROWS)
SYNC_PEERS = ("aio_s3_ingest", "listing")
REFERENCES = ("s5cmd-tuned", "baseline")

DESCRIPTIONS = {
    "ceiling": "curl --parallel (64 connections) pulling the same objects to /dev/null",
    "aio_s3_ingest": "S3Ingester.fetch_data(), reference defaults",
    "aio_s3_ingest-tuned": "S3Ingester.fetch_data(), tuned per cell",
    "aio_s3_ingest-noverify": "S3Ingester.fetch_data(), reference defaults, verify='off'",
    "aiobotocore-loop": "aiobotocore list + gather(get_object) under Semaphore(64), 1 MiB chunks",
    "baseline": "boto3 + ThreadPoolExecutor(64), download_file per key",
    "s5cmd": "s5cmd cp, defaults",
    "s5cmd-tuned": "s5cmd cp, tuned workers / part size",
    "awscli": "aws s3 cp --recursive, defaults",
    "s3fs": "S3FileSystem.get(recursive=True), defaults",
    "obstore": "obstore (Rust object_store) list + get per key in ThreadPoolExecutor(64)",
    "listing": "aiobotocore paginated list_objects_v2 of the prefix, nothing downloaded",
    "aio_s3_ingest-list": "S3Ingester.plan() into an empty directory: the listing alone",
    "s5cmd-ls": "s5cmd ls of the prefix, its lines counted",
    # in the listing cell: aio_s3_ingest runs S3Ingester.plan(), s5cmd runs `s5cmd ls`
}


def peers_for(cell: str, selected: list[str]) -> list[str]:
    """The selected peers that take part in a cell, in table order."""
    if cell == "listing":
        return [p for p in LISTING_PEERS if p in selected]
    pools = {"scale": SCALE_PEERS, "scale-hit": SCALE_HIT_PEERS}
    pool = pools.get(cell, SYNC_PEERS if cell in SYNC_CELLS else DOWNLOAD_PEERS)
    return [p for p in pool if p in selected and cell in PEERS[p].cells]


def dataset_kind(cell: str) -> str:
    return _KINDS.get(cell, cell)


def lists_only(peer: str) -> bool:
    """Whether the peer only lists (it must say how many keys; it writes nothing)."""
    return peer == "listing" or "--list-only" in PEERS[peer].settings("", False, False)
