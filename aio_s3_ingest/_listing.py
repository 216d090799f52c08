"""What is in S3: the paginated listing and the S3 manifest, turned into the wanted set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select
from ._config import IngestConfig
from ._log import logger
from ._models import ObjectInfo, WantedFile
from ._s3errors import s3_errors

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


async def list_objects(client: S3Client, bucket: str, prefix: str) -> list[ObjectInfo]:
    """Every object under the prefix, across all ListObjectsV2 pages."""
    objects: list[ObjectInfo] = []
    paginator = client.get_paginator("list_objects_v2")
    with s3_errors(bucket=bucket, prefix=prefix):
        async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            objects.extend(
                ObjectInfo(
                    key=item["Key"],
                    size=item["Size"],
                    etag=item["ETag"],
                    last_modified=item["LastModified"],
                )
                for item in page.get("Contents", ())
            )
    return objects


async def wanted_files(client: S3Client, config: IngestConfig) -> list[WantedFile]:
    """List, narrow by the S3 manifest, match the patterns, and check every path is safe."""
    bucket, prefix = config.s3_bucket_name, config.s3_key_prefix
    listed = await list_objects(client, bucket, prefix)
    base = _select.base_of(prefix)
    candidates = await _apply_manifest(client, config, listed, base)
    wanted = _select.select(candidates, base, config.file_patterns)
    _select.require_matches(wanted, f"s3://{bucket}/{prefix}", config.file_patterns)
    _select.check_safe(wanted)
    _select.check_timestamps(wanted, config.s3_timestamp_tolerance)
    return wanted


async def _apply_manifest(
    client: S3Client, config: IngestConfig, listed: list[ObjectInfo], base: str
) -> list[ObjectInfo]:
    # Redshift's UNLOAD ... MANIFEST writes it at <prefix>manifest, whatever the prefix ends in.
    name = config.manifest_file_name
    manifest_key = config.s3_key_prefix + name if name is not None else None
    manifest = next((obj for obj in listed if obj.key == manifest_key), None)
    if manifest is None:
        return listed
    others = {obj.key: obj for obj in listed if obj.key != manifest.key}
    body = await _read_object(client, config.s3_bucket_name, manifest)
    entries = _select.parse_s3_manifest(manifest.key, body)
    logger.debug("S3 manifest %r lists %d object(s)", manifest.key, len(entries))
    return _select.apply_s3_manifest(manifest.key, entries, others, config.s3_bucket_name)


async def _read_object(client: S3Client, bucket: str, obj: ObjectInfo) -> bytes:
    with s3_errors(bucket=bucket, key=obj.key):
        response = await client.get_object(Bucket=bucket, Key=obj.key, IfMatch=obj.etag)
        async with response["Body"] as body:
            data: bytes = await body.read()
    return data
