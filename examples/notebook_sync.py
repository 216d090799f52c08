"""Fetch a dataset from a notebook or a script, then fetch it again: the second run is a cache hit.

The ``# %%`` markers make cells in VS Code, PyCharm and Jupytext; the sync ``S3Ingester``
works in a Jupyter cell as well (it runs on a worker thread when a loop is running).
Run it whole, with the dataset named by environment variables::

    DATASET_BUCKET=my-datasets DATASET_PREFIX=exports/sales/ python examples/notebook_sync.py

or by an ``s3://`` URL argument (the environment variables still set the rest)::

    python examples/notebook_sync.py s3://my-datasets/exports/sales/

Other variables: ``DATASET_DIR`` (default ``data``), ``DATASET_ID``, ``DATASET_PATTERN``
(default ``*``), ``DATASET_REGION`` (default ``eu-west-1``), and ``AWS_ENDPOINT_URL`` for an
S3-compatible endpoint, which the library reads itself, as any AWS SDK does.
"""

# %% Setup: show the library's INFO lines (cache hit or miss, and a summary per run).
from __future__ import annotations

import logging
import os
import sys

from aio_s3_ingest import S3Ingester

logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
logging.getLogger("aio_s3_ingest").setLevel(logging.INFO)


# %% Configuration: in a notebook, edit these lines instead.
# Only an s3:// argument counts: a Jupyter kernel has arguments of its own (-f kernel.json).
url = next((arg for arg in sys.argv[1:] if arg.startswith("s3://")), None)
if url is not None:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
else:
    bucket = os.environ.get("DATASET_BUCKET", "")
    prefix = os.environ.get("DATASET_PREFIX", "")
if not bucket:
    sys.exit("set DATASET_BUCKET and DATASET_PREFIX, or pass s3://bucket/prefix/")

ingester = S3Ingester(
    bucket,
    prefix,
    file_pattern=os.environ.get("DATASET_PATTERN", "*"),
    dataset_id=os.environ.get("DATASET_ID") or None,
    destination_directory=os.environ.get("DATASET_DIR", "data"),
    aws_region_name=os.environ.get("DATASET_REGION", "eu-west-1"),
    # endpoint_url: AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3), read by the library itself
)  # progress=None (the default): a tqdm bar in a terminal or a notebook
print(ingester)

# %% First fetch: downloads whatever is new or changed since the last run.
report = ingester.sync()  # fetch_data() does the same and returns just report.paths
print(f"first fetch: {report.summary()}")
for path in report.paths:
    print(f"  {path.relative_to(ingester.dataset_directory).as_posix()}  {path.stat().st_size} B")

# %% Second fetch: nothing changed in S3, so nothing is downloaded (a cache hit).
again = ingester.sync()
verdict = "cache hit" if not again.fetched and again.paths == report.paths else "cache miss"
print(f"second fetch: {verdict}, downloaded {len(again.fetched)} file(s) in {again.seconds:.2f} s")

# %% Dry run: what would change, without downloading or writing anything.
preview = ingester.plan()
print(f"dry run: would fetch {len(preview.fetched)}, delete {len(preview.deleted)}")
