"""Thread-based baseline: boto3, a ThreadPoolExecutor, one download_file per key."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from _common import parser
from botocore.config import Config


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--threads", type=int, default=64)
    args = p.parse_args()
    config = Config(max_pool_connections=args.threads, s3={"addressing_style": "path"})
    s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name=args.region, config=config)
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=args.bucket, Prefix=args.prefix
        )
        for obj in page.get("Contents", [])
    ]
    dest = Path(args.dest)

    def one(key: str) -> None:
        path = dest / key[len(args.prefix) :]
        os.makedirs(path.parent, exist_ok=True)
        s3.download_file(args.bucket, key, str(path))

    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(one, keys))
    print(f"boto3 threads: {len(keys)} files")


if __name__ == "__main__":
    main()
