"""Fetch one dataset with the workers of a Dask cluster, a shard each, then again (a cache
hit on every worker).

Needs ``pip install 'aio-s3-ingest[dask]'``. Connects to the scheduler at
``DASK_SCHEDULER`` (e.g. ``tcp://10.0.0.5:8786``), or starts a local cluster of
``DASK_WORKERS`` worker processes (default 2) to try it out::

    DATASET_BUCKET=my-datasets DATASET_PREFIX=exports/sales/ python examples/dask_cluster.py

Each worker writes to ``DATASET_DIR/DATASET_ID`` as it sees that path: a shared
filesystem, or its own disk (then each worker holds only its shard). Other variables as in
``notebook_sync.py``; ``AWS_ENDPOINT_URL`` is read by the library on every worker, so
workers must have it (and credentials) in their environment too.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from distributed import Client, LocalCluster

from aio_s3_ingest import IngestFailed
from aio_s3_ingest.dask import fetch_on_cluster


def main() -> int:
    bucket = os.environ.get("DATASET_BUCKET", "")
    prefix = os.environ.get("DATASET_PREFIX", "")
    if not bucket:
        print("set DATASET_BUCKET and DATASET_PREFIX", file=sys.stderr)
        return 2
    options: dict[str, Any] = {
        "dataset_id": os.environ.get("DATASET_ID") or None,
        "destination_directory": os.path.abspath(os.environ.get("DATASET_DIR", "data")),
        "file_pattern": os.environ.get("DATASET_PATTERN", "*"),
        "aws_region_name": os.environ.get("DATASET_REGION", "eu-west-1"),
    }
    scheduler = os.environ.get("DASK_SCHEDULER")
    if scheduler:
        client = Client(scheduler)
    else:
        workers = int(os.environ.get("DASK_WORKERS", "2"))
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0")
        client = Client(cluster)
    with client:
        for attempt in ("first run", "second run"):
            try:
                report = fetch_on_cluster(client, bucket, prefix, **options)
            except IngestFailed as failed:
                print(f"{attempt}: {failed}", file=sys.stderr)
                return 1
            print(f"{attempt}: {report.summary()}")
            print(f"{len(report.paths)} file(s) in {report.dataset_directory}")
    return 0


if __name__ == "__main__":  # required: worker processes may re-import this module
    sys.exit(main())
