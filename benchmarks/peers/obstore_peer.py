"""obstore (Python bindings of Rust's object_store): list, then one GET per key in 64 threads.

Path-style S3Store on the origin, credentials from the environment like every peer. Each
transfer runs in Rust with the GIL released; the thread writes the body's chunks (1 MiB or
more) to the file. Over HTTPS the CA comes in as ``--ca-bundle`` and is added to the
client's trusted roots (``root_certificate``); verification stays on.

The blocking API in a thread pool, not ``get_async`` under a semaphore: on Python 3.11 the
async one now and then aborted the process at exit (a Rust thread that had just completed a
future was still waking the event loop when the interpreter began to finalize); see the
obstore row in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import obstore
from _common import parser
from obstore.store import S3Store

CHUNK = 1 << 20


def make_store(args: argparse.Namespace) -> S3Store:
    client: dict[str, Any] = {"allow_http": args.endpoint.startswith("http://")}
    if args.ca_bundle:
        client["root_certificate"] = Path(args.ca_bundle).read_text()
    return S3Store(
        args.bucket,
        endpoint=args.endpoint,
        region=args.region,
        virtual_hosted_style_request=False,
        client_options=client,
    )


def fetch(store: S3Store, key: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    resp = obstore.get(store, key)
    with path.open("wb") as out:
        for chunk in resp.stream(min_chunk_size=CHUNK):
            out.write(chunk)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--ca-bundle", help="PEM file of a CA to trust over HTTPS")
    args = p.parse_args()
    store = make_store(args)
    keys = [
        meta["path"]
        for batch in obstore.list(store, prefix=args.prefix, chunk_size=1000)
        for meta in batch
    ]
    dest = Path(args.dest)
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(lambda k: fetch(store, k, dest / k[len(args.prefix) :]), keys))
    print(f"obstore: {len(keys)} files")


if __name__ == "__main__":
    main()
