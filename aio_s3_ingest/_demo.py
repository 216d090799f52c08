"""The embedded demo: a local moto S3 server, a small sample dataset, two fetches.

moto is an optional extra (``aio-s3-ingest[demo]``); nothing else imports this module.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import pathlib
import random
from collections.abc import Iterator
from typing import Any

BUCKET = "aio-s3-ingest-demo"
PREFIX = "exports/sales/"
REGION = "eu-west-1"
DESTINATION = pathlib.Path("aio-s3-ingest-demo")  # in the working directory, kept to look at
MiB = 1024 * 1024


@contextlib.contextmanager
def local_s3() -> Iterator[str]:
    """A moto S3 server on a free loopback port, for as long as the block runs."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def demo_credentials() -> None:
    """moto accepts any credentials; set dummy ones only where none are configured."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")


def sample_objects(seed: int = 7) -> dict[str, bytes]:
    """CSV parts in nested folders, Parquet-sized binary parts, and one large file."""
    rng = random.Random(seed)
    objects: dict[str, bytes] = {}
    for month in ("2026-09", "2026-10", "2026-11"):
        for part in range(3):
            objects[f"{PREFIX}csv/{month}/part-{part:03d}.csv"] = _csv_part(rng, rows=4000)
    for part in range(4):
        objects[f"{PREFIX}parquet/part-{part:04d}.parquet"] = rng.randbytes(3 * MiB + part)
    objects[f"{PREFIX}parquet/full-history.parquet"] = rng.randbytes(24 * MiB)
    return objects


def upload(endpoint_url: str, objects: dict[str, bytes]) -> None:
    """Create the bucket and upload the objects plus an UNLOAD-style S3 manifest."""
    import boto3  # type: ignore[import-untyped]

    s3: Any = boto3.client("s3", endpoint_url=endpoint_url, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    entries = [
        {"url": f"s3://{BUCKET}/{key}", "meta": {"content_length": len(body)}}
        for key, body in sorted(objects.items())
    ]
    s3.put_object(
        Bucket=BUCKET, Key=f"{PREFIX}manifest", Body=json.dumps({"entries": entries}).encode()
    )


def _csv_part(rng: random.Random, rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order_id", "store", "sku", "quantity", "price"])
    for order in range(rows):
        writer.writerow(
            [
                order,
                rng.randint(1, 40),
                f"SKU-{rng.randint(1, 9999):04d}",
                rng.randint(1, 9),
                f"{rng.uniform(0.5, 400):.2f}",
            ]
        )
    return out.getvalue().encode()
