"""aio_s3_ingest: this repository's downloader, through its synchronous facade."""

from __future__ import annotations

from pathlib import Path

from _common import parser

from aio_s3_ingest import S3Ingester


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--max-concurrent-files", type=int, default=64)
    p.add_argument("--workers-per-file", type=int, default=1)
    p.add_argument("--processes", type=lambda v: v if v == "auto" else int(v), default=1)
    p.add_argument("--chunk-size", type=int, default=None)
    p.add_argument("--verify", default="auto")
    p.add_argument("--list-only", action="store_true", help="plan(): list and compare only")
    args = p.parse_args()
    dest = Path(args.dest)
    ingester = S3Ingester(
        args.bucket,
        args.prefix,
        dataset_id=dest.name,
        destination_directory=str(dest.parent),
        aws_region_name=args.region,
        max_concurrent_files=args.max_concurrent_files,
        workers_per_file=args.workers_per_file,
        processes=args.processes,
        **({"chunk_size": args.chunk_size} if args.chunk_size else {}),
        manifest_file_name=None,
        endpoint_url=args.endpoint,
        verify=args.verify,
    )
    if args.list_only:
        planned = ingester.plan()
        print(f"aio_s3_ingest: listed {len(planned.fetched) + len(planned.kept)} objects")
        return
    report = ingester.sync()
    verified = ", ".join(f"{n} {name}" for name, n in report.verified.items()) or "none"
    print(f"aio_s3_ingest: {len(report.paths)} files; verified: {verified}")


if __name__ == "__main__":  # required: worker processes may re-import this module
    main()
