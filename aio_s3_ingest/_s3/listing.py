"""What is in S3: the paginated listing and the S3 manifest, turned into the wanted set."""

from __future__ import annotations

import functools
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import _s3manifest, _select
from .._config import IngestConfig
from .._http.parse import HttpError
from .._log import logger
from .._models import ObjectInfo, Selection
from .._retry import BROKEN_BODY, Attempts, RetryPolicy
from .._run import Run, botocore_call
from .._s3errors import s3_errors
from ..errors import IngestError, ObjectChangedError, TransferError
from .client import S3Handles, parse_timestamp
from .getter import Getter, ObjectChanged, UseBotocore
from .list_tree import Page, PageRequest, list_tree

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from .direct_getter import DirectGetter


async def list_objects(s3: S3Handles, bucket: str, prefix: str, run: Run) -> list[ObjectInfo]:
    """Every object under the prefix, in S3's order, across all ListObjectsV2 pages (in
    key ranges at once when the prefix is large: :mod:`.list_tree`).

    On the direct path when the run has one: ElementTree parses a page in less time than
    botocore's parser (figures: benchmarks/README.md, "Design figures behind the code"),
    and the request skips aiobotocore's per-request machinery.
    """
    if s3.direct is not None:
        try:
            return await list_tree(functools.partial(_direct_page, s3.direct, run), prefix)
        except UseBotocore as exc:
            logger.debug("direct listing declined: %s; listing through botocore", exc)
    with s3_errors(bucket=bucket, prefix=prefix), botocore_call(run):
        client = await s3.client()
        return await list_tree(functools.partial(_botocore_page, client, bucket), prefix)


async def _botocore_page(client: S3Client, bucket: str, request: PageRequest) -> Page:
    options = {"Bucket": bucket, "Prefix": request.prefix}
    if request.by_folder:
        options["Delimiter"] = "/"
    if request.token is not None:
        options["ContinuationToken"] = request.token
    elif request.start_after is not None:
        options["StartAfter"] = request.start_after
    page = await client.list_objects_v2(**options)  # type: ignore[arg-type]
    objects = [
        ObjectInfo(
            key=item["Key"],
            size=item["Size"],
            etag=item["ETag"],
            last_modified=item["LastModified"],
            storage_class=item.get("StorageClass") or "STANDARD",
        )
        for item in page.get("Contents", ())
    ]
    folders = [entry["Prefix"] for entry in page.get("CommonPrefixes", ())]
    more = page.get("IsTruncated") and page.get("NextContinuationToken")
    return Page(objects, folders, more or None)


async def _direct_page(direct: DirectGetter, run: Run, request: PageRequest) -> Page:
    params = {"list-type": "2", "prefix": request.prefix, "encoding-type": "url"}
    if request.by_folder:
        params["delimiter"] = "/"
    if request.token is not None:
        params["continuation-token"] = request.token
    elif request.start_after is not None:
        params["start-after"] = request.start_after
    return parse_list_page(await direct.list_page(params, run))


def parse_list_page(body: bytes) -> Page:
    """One ``encoding-type=url`` ListObjectsV2 page: its objects, its folders, and the
    continuation token if the listing goes on. Anything unexpected is left to botocore."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise UseBotocore(f"a listing page that is not XML ({exc})") from None
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    if root.tag != ns + "ListBucketResult":
        raise UseBotocore(f"a listing page with root <{root.tag}>")
    encoded = root.findtext(ns + "EncodingType") == "url"
    decode = _url_decoded if encoded else str
    objects = [_listed(item, ns, decode) for item in root.iter(ns + "Contents")]
    folders = [
        decode(entry.findtext(ns + "Prefix") or "") for entry in root.iter(ns + "CommonPrefixes")
    ]
    if root.findtext(ns + "IsTruncated") != "true":
        return Page(objects, folders)
    token = root.findtext(ns + "NextContinuationToken")
    if not token:
        raise UseBotocore("a truncated listing page without a continuation token")
    return Page(objects, folders, token)


def _url_decoded(text: str) -> str:
    """A key as S3 sent it with ``EncodingType=url``; most keys need no decoding at all."""
    if "%" not in text and "+" not in text:
        return text
    return urllib.parse.unquote_plus(text)


def _listed(item: ET.Element, ns: str, decode: Callable[[str], str]) -> ObjectInfo:
    key = item.findtext(ns + "Key")
    size = item.findtext(ns + "Size")
    etag = item.findtext(ns + "ETag")
    stamp = item.findtext(ns + "LastModified")
    if key is None or size is None or etag is None or stamp is None:
        raise UseBotocore("a listed object without Key, Size, ETag or LastModified")
    return ObjectInfo(
        key=decode(key),
        size=int(size),
        etag=etag,
        last_modified=parse_timestamp(stamp),
        storage_class=item.findtext(ns + "StorageClass") or "STANDARD",
    )


async def wanted_files(s3: S3Handles, config: IngestConfig, run: Run) -> Selection:
    """List, narrow by the S3 manifest, match the patterns, and check every path is safe."""
    bucket, prefix = config.s3_bucket_name, config.s3_key_prefix
    listed = await list_objects(s3, bucket, prefix, run)
    candidates = await _apply_manifest(s3, config, listed, run)
    wanted = _select.select(candidates, prefix, config.file_patterns)
    skipped = _select.skipped_folder_markers(candidates, prefix, config.file_patterns)
    for key, why in skipped.items():
        logger.warning("skipping s3://%s/%s: %s", bucket, key, why)
    _select.require_matches(wanted, f"s3://{bucket}/{prefix}", config.file_patterns)
    _select.check_safe(wanted)
    _select.check_timestamps(wanted, config.s3_timestamp_tolerance)
    present = {obj.key: _select.relative_path(obj.key, prefix) for obj in candidates}
    return Selection(wanted=wanted, present=present, skipped=skipped)


async def _apply_manifest(
    s3: S3Handles, config: IngestConfig, listed: list[ObjectInfo], run: Run
) -> list[ObjectInfo]:
    """The candidates: the listed objects the S3 manifest names, or all of them without one.
    Objects that are manifests by their place are never data."""
    prefix, name = config.s3_key_prefix, config.manifest_file_name
    manifest, places = _s3manifest.find_manifest(listed, prefix, name)
    if manifest is None:
        return listed
    for other in places:
        if other is not manifest:
            logger.warning("S3 manifest %r is ignored: %r is used", other.key, manifest.key)
    skip = {obj.key for obj in places}
    others = {obj.key: obj for obj in listed if obj.key not in skip}
    body = await _read_object(s3.getter, manifest, s3.retry, run)
    entries = _s3manifest.parse_s3_manifest(manifest.key, body)
    logger.debug("S3 manifest %r lists %d object(s)", manifest.key, len(entries))
    return _s3manifest.apply_s3_manifest(manifest.key, entries, others, config.s3_bucket_name)


async def _read_object(getter: Getter, obj: ObjectInfo, retry: RetryPolicy, run: Run) -> bytes:
    """The listed object's bytes, on the getter the data GETs use (so the direct path);
    read again from the start if the body breaks off, within one budget of attempts."""
    attempts = retry.attempts(run)
    while True:
        try:
            return await _read_once(getter, obj, attempts)
        except ObjectChanged as exc:
            raise ObjectChangedError(obj.key, "it changed while it was being read") from exc
        except IngestError:
            raise  # the getter's verdict after its retries (EndpointError is a ConnectionError)
        except BROKEN_BODY as exc:
            if not attempts.left:
                message = f"gave up after {attempts.used} attempt(s): {exc}"
                raise TransferError(obj.key, message) from exc
            await attempts.backoff()


async def _read_once(getter: Getter, obj: ObjectInfo, attempts: Attempts) -> bytes:
    if not obj.size:
        return b""
    data = bytearray(obj.size)
    view, filled = memoryview(data), 0
    body = await getter.open(obj, 0, obj.size, attempts)
    try:
        while filled < obj.size:
            count = await body.readinto(view[filled:])
            if count == 0:
                raise HttpError(f"the body ended at {filled} of {obj.size} bytes")
            filled += count
    finally:
        body.close()
    return bytes(data)
