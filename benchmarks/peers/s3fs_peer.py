"""s3fs (fsspec): a recursive ``get`` of the prefix with default settings."""

from __future__ import annotations

import s3fs
from _common import parser


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    fs = s3fs.S3FileSystem(
        endpoint_url=args.endpoint,
        client_kwargs={"region_name": args.region},
        config_kwargs={"s3": {"addressing_style": "path"}},
    )
    fs.get(f"{args.bucket}/{args.prefix}", args.dest.rstrip("/") + "/", recursive=True)
    print("s3fs: done")


if __name__ == "__main__":
    main()
