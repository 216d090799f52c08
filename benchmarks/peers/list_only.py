"""Listing alone: a paginated ListObjectsV2 of the prefix with aiobotocore (the sync floor)."""

from __future__ import annotations

import argparse
import asyncio

from _common import parser
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session


async def run(args: argparse.Namespace) -> int:
    config = AioConfig(s3={"addressing_style": "path"})
    async with get_session().create_client(
        "s3", endpoint_url=args.endpoint, region_name=args.region, config=config
    ) as s3:
        count = 0
        async for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=args.bucket, Prefix=args.prefix
        ):
            count += len(page.get("Contents", []))
    return count


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    print(f"listed {asyncio.run(run(args))} objects")


if __name__ == "__main__":
    main()
