"""Plain aiobotocore: list, then gather one whole-object GET per key under a semaphore.

This is the floor of aio_s3_ingest's own stack (aiobotocore + aiofiles) with no extras.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import aiofiles
from _common import parser
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

CHUNK = 1 << 20


async def fetch(s3: Any, sem: asyncio.Semaphore, bucket: str, key: str, path: Path) -> None:
    async with sem:
        resp = await s3.get_object(Bucket=bucket, Key=key)
        path.parent.mkdir(parents=True, exist_ok=True)
        async with resp["Body"] as body, aiofiles.open(path, "wb") as out:
            while chunk := await body.read(CHUNK):
                await out.write(chunk)


async def run(args: argparse.Namespace) -> int:
    config = AioConfig(max_pool_connections=args.concurrency, s3={"addressing_style": "path"})
    session = get_session()
    async with session.create_client(
        "s3", endpoint_url=args.endpoint, region_name=args.region, config=config
    ) as s3:
        keys: list[str] = []
        async for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=args.bucket, Prefix=args.prefix
        ):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        sem = asyncio.Semaphore(args.concurrency)
        dest = Path(args.dest)
        await asyncio.gather(
            *(fetch(s3, sem, args.bucket, k, dest / k[len(args.prefix) :]) for k in keys)
        )
    return len(keys)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--concurrency", type=int, default=64)
    args = p.parse_args()
    print(f"aiobotocore loop: {asyncio.run(run(args))} files")


if __name__ == "__main__":
    main()
