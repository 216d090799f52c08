"""One dataset fetched by the workers of a Dask cluster, a shard each.

Needs ``pip install 'aio-s3-ingest[dask]'``. The driver lists nothing: each worker runs
an ordinary :class:`~aio_s3_ingest.S3Ingester` with ``shard=(index, count)``, which lists
the prefix, keeps its own share of the keys and its own manifest, and reports back. The
shards' reports come back merged into one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from ._report import IngestReport, merge_reports
from ._sync import S3Ingester
from .errors import ConfigError, IngestFailed, cause_text

try:
    from distributed import Client, Future, wait
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "aio_s3_ingest.dask needs Dask's distributed: pip install 'aio-s3-ingest[dask]'"
    ) from exc

__all__ = ["fetch_on_cluster"]


def fetch_on_cluster(
    client: Client,
    s3_bucket_name: str,
    s3_key_prefix: str,
    *,
    shards: int | None = None,
    **options: Any,
) -> IngestReport:
    """Bring the dataset up to date with one shard per worker of ``client`` (or ``shards``
    shards, spread over the workers), and return the shards' merged report.

    ``options`` are :class:`~aio_s3_ingest.S3Ingester`'s (``shard`` aside; ``progress``
    defaults to False). Files land in ``destination_directory / dataset_id`` as each
    worker sees that path: its own disk, or a filesystem they share. Shards go to workers
    by the workers' names, so a worker that restarts under its name takes its shard back
    and finds its files. If objects failed, or a shard failed as a whole (an error on its
    worker, or its worker lost too often), raises :class:`~aio_s3_ingest.IngestFailed`
    with the merged report: objects under their keys, a whole shard under
    ``"<shard I of N>"``; the other shards' files are in place and recorded.
    """
    if "shard" in options:
        raise ConfigError("fetch_on_cluster gives each worker its shard", parameter="shard")
    options = {"progress": False, **options}
    probe = S3Ingester(s3_bucket_name, s3_key_prefix, **options)  # bad options fail here
    workers = _workers_by_name(client)
    count = len(workers) if shards is None else shards
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"shards must be a positive int, got {count!r}", parameter="shards")
    started = time.monotonic()
    futures = _submit(client, (s3_bucket_name, s3_key_prefix), options, workers, count)
    wait(futures)
    return _merged(futures, probe, time.monotonic() - started)


def _submit(
    client: Client,
    where: tuple[str, str],
    options: Mapping[str, Any],
    workers: list[str],
    count: int,
) -> list[Future[IngestReport]]:
    """One task per shard, each meant for the worker of its turn, free to go elsewhere
    when that worker is gone."""
    run = uuid.uuid4().hex[:12]
    return [
        client.submit(
            _fetch_shard,
            *where,
            (index, count),
            options,
            key=f"aio-s3-ingest-{run}-shard-{index}-of-{count}",
            workers=[workers[index % len(workers)]],
            allow_other_workers=True,
            pure=False,
        )
        for index in range(count)
    ]


def _fetch_shard(
    bucket: str, prefix: str, shard: tuple[int, int], options: Mapping[str, Any]
) -> IngestReport:
    """On a worker: one shard, synced like any run."""
    return S3Ingester(bucket, prefix, shard=shard, **options).sync()


def _workers_by_name(client: Client) -> list[str]:
    """The workers' addresses, in the order of their names."""
    workers: dict[str, Any] = client.scheduler_info()["workers"]
    if not workers:
        raise ConfigError("the Dask cluster has no workers")
    return sorted(workers, key=lambda address: str(workers[address].get("name", address)))


def _merged(futures: list[Future[IngestReport]], probe: S3Ingester, seconds: float) -> IngestReport:
    """The shards' reports as one; IngestFailed if some object or shard failed."""
    reports: list[IngestReport] = []
    failures: dict[str, BaseException] = {}
    whole: dict[str, str] = {}
    for index, future in enumerate(futures):
        if future.status == "finished":
            reports.append(future.result())
            continue
        error = future.exception()
        if isinstance(error, IngestFailed) and error.report is not None:
            reports.append(error.report)
            failures.update(error.failures)
            continue
        name = f"<shard {index} of {len(futures)}>"
        failures[name] = error
        whole[name] = cause_text(error)
    directory = probe.dataset_directory
    report = merge_reports(reports, directory, seconds=seconds, failed=whole)
    if failures:
        raise IngestFailed(failures, report=report)
    return report
