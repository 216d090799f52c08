"""What the listing tests share: objects named after their keys, buckets shared by a module."""

from __future__ import annotations

import pathlib
import uuid
from typing import Any

import boto3
from botocore.config import Config

from aio_s3_ingest import AsyncS3Ingester
from tests._helpers import MakeIngester

REGION = "eu-west-1"


def put(s3: Any, bucket: str, *keys: str) -> None:
    """Upload each key with its own name as body, so a misplaced file is noticed."""
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode("utf-8", "surrogatepass"))


def module_client(endpoint: str, config: Config | None = None) -> Any:
    """A boto3 client for arranging objects outside the per-test ``s3`` fixture."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def new_bucket(client: Any, stem: str) -> str:
    """Create a uniquely named bucket."""
    name = f"{stem}-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def shared_ingester(endpoint: str, bucket: str, dest: pathlib.Path) -> MakeIngester:
    """A factory of ingesters on a shared bucket, each writing to this test's destination."""

    def make(prefix: str = "data/", **options: Any) -> AsyncS3Ingester:
        return AsyncS3Ingester(
            bucket,
            prefix,
            dataset_id="ds",
            destination_directory=dest,
            endpoint_url=endpoint,
            **options,
        )

    return make
