"""A FastAPI service that has its dataset on local disk before it answers a single request.

The lifespan fetches the dataset (a cache hit on every restart after the first, so startup
stays quick), keeps the ingester's S3 client open while the app serves, and closes it on
shutdown. Configure it with environment variables and run it with any ASGI server::

    DATASET_BUCKET=my-datasets DATASET_PREFIX=exports/sales/ uvicorn examples.fastapi_app:app

=====================  ===========================================================
``DATASET_BUCKET``     bucket holding the dataset (required)
``DATASET_PREFIX``     key prefix of the dataset (required)
``DATASET_DIR``        local folder for datasets (default ``data``)
``DATASET_ID``         folder name under ``DATASET_DIR`` (default: derived from the
                       bucket, prefix and region)
``DATASET_PATTERN``    fnmatch pattern of the files to fetch (default ``*``)
``DATASET_REGION``     region of the bucket (default ``eu-west-1``)
``AWS_ENDPOINT_URL``   an S3-compatible endpoint (MinIO, moto, ...), optional; read
                       by the library, as by any AWS SDK (so is ``AWS_ENDPOINT_URL_S3``)
=====================  ===========================================================

Importing this module does no I/O: a missing variable is reported when the app starts.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from aio_s3_ingest import AsyncS3Ingester


@dataclass(frozen=True)
class DatasetSettings:
    """Where the dataset comes from and where it lands; None marks a missing required value."""

    bucket: str | None
    prefix: str | None
    destination_directory: pathlib.Path
    dataset_id: str | None = None
    file_pattern: str = "*"
    region: str = "eu-west-1"
    endpoint_url: str | None = None

    def make_ingester(self) -> AsyncS3Ingester:
        """The ingester for these settings, or a RuntimeError naming what is missing."""
        if self.bucket is None or self.prefix is None:
            missing = [
                name
                for name, value in (
                    ("DATASET_BUCKET", self.bucket),
                    ("DATASET_PREFIX", self.prefix),
                )
                if value is None
            ]
            raise RuntimeError(
                f"no dataset to fetch: set {' and '.join(missing)} (or pass them to create_app())"
            )
        return AsyncS3Ingester(
            self.bucket,
            self.prefix,
            file_pattern=self.file_pattern,
            dataset_id=self.dataset_id,
            destination_directory=self.destination_directory,
            aws_region_name=self.region,
            endpoint_url=self.endpoint_url,
        )


@dataclass
class Dataset:
    """What the lifespan fetched, shared with the request handlers through ``app.state``."""

    ingester: AsyncS3Ingester
    paths: list[pathlib.Path]


def _current_dataset(request: Request) -> Dataset:
    """The Dataset the lifespan stored (``app.state`` is untyped; this gives it a type)."""
    dataset = request.app.state.dataset
    assert isinstance(dataset, Dataset)
    return dataset


CurrentDataset = Annotated[Dataset, Depends(_current_dataset)]


class FileInfo(BaseModel):
    """One file of the dataset: its path relative to the dataset folder, and its size."""

    path: str
    size: int


class Summary(BaseModel):
    status: Literal["ok"] = "ok"
    files: int


def create_app(
    bucket: str | None = None,
    prefix: str | None = None,
    *,
    destination_directory: str | pathlib.Path | None = None,
    dataset_id: str | None = None,
    file_pattern: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    """Build the app; each argument left out is read from ``environ`` (default: os.environ),
    except ``endpoint_url``: left out, the library reads ``AWS_ENDPOINT_URL`` itself.

    Nothing is validated or fetched here, so building the app at import time is cheap
    and never fails; the lifespan does both before the first request is served.
    """
    env = os.environ if environ is None else environ
    settings = DatasetSettings(
        bucket=bucket or env.get("DATASET_BUCKET") or None,
        prefix=prefix if prefix is not None else env.get("DATASET_PREFIX"),
        destination_directory=pathlib.Path(
            destination_directory or env.get("DATASET_DIR") or "data"
        ),
        dataset_id=dataset_id or env.get("DATASET_ID") or None,
        file_pattern=file_pattern or env.get("DATASET_PATTERN") or "*",
        region=region or env.get("DATASET_REGION") or "eu-west-1",
        endpoint_url=endpoint_url,  # else AWS_ENDPOINT_URL(_S3), read by the library itself
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One S3 client for the app's lifetime, so /refresh reuses its connection pool.
        async with settings.make_ingester() as ingester:
            app.state.dataset = Dataset(ingester, await ingester.fetch_data())
            yield

    app = FastAPI(title="dataset service", lifespan=lifespan)

    @app.get("/health")
    async def health(dataset: CurrentDataset) -> Summary:
        """Serving at all means the dataset is on disk: the lifespan fetched it first."""
        return Summary(files=len(dataset.paths))

    @app.get("/files")
    def files(dataset: CurrentDataset) -> list[FileInfo]:
        """The dataset's files as of the last fetch (a sync handler, so stat() runs in a thread)."""
        root = dataset.ingester.dataset_directory
        return [
            FileInfo(path=path.relative_to(root).as_posix(), size=path.stat().st_size)
            for path in dataset.paths
        ]

    @app.post("/refresh")
    async def refresh(dataset: CurrentDataset) -> Summary:
        """Bring the dataset up to date; only new or changed objects are downloaded.

        Requests served meanwhile read whole files only: each lands by an atomic rename.
        """
        dataset.paths = await dataset.ingester.fetch_data()
        return Summary(files=len(dataset.paths))

    return app


app = create_app()
