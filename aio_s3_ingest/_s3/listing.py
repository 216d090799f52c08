"""What is in S3: the paginated listing, page by page."""

from __future__ import annotations

import datetime as dt
import functools
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from .._log import logger
from .._models import ObjectInfo
from .._run import Run, botocore_call
from .._s3errors import s3_errors
from .client import S3Handles, parse_timestamp
from .getter import UseBotocore
from .list_tree import Page, PageRequest, PageSource, list_tree

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

    from .direct_getter import DirectGetter


class Sink(Protocol):
    """Where a listing's objects go, a page's worth at a time."""

    def add(self, objects: list[ObjectInfo]) -> None: ...


SinkT = TypeVar("SinkT", bound=Sink)


async def list_objects(
    s3: S3Handles,
    bucket: str,
    prefix: str,
    run: Run,
    new_sink: Callable[[], SinkT],
    on_large: Callable[[PageSource], Awaitable[None]] | None = None,
) -> SinkT:
    """Every object under the prefix, into a sink made for the listing (in key ranges at
    once when the prefix is large: :mod:`.list_tree`); each page goes in as it arrives.

    On the direct path when the run has one: ElementTree parses a page in less time than
    botocore's parser (figures: benchmarks/README.md, "Design figures behind the code"),
    and the request skips aiobotocore's per-request machinery. If the direct path
    declines, botocore lists again from the start into a new sink. ``on_large``: as
    :func:`.list_tree.list_tree` takes it.
    """
    if s3.direct is not None:
        sink = new_sink()
        try:
            direct = functools.partial(_direct_page, s3.direct, run)
            await list_tree(direct, prefix, sink.add, on_large)
            return sink
        except UseBotocore as exc:
            logger.debug("direct listing declined: %s; listing through botocore", exc)
    sink = new_sink()
    with s3_errors(bucket=bucket, prefix=prefix), botocore_call(run):
        client = await s3.client()
        pages = functools.partial(_botocore_page, client, bucket)
        await list_tree(pages, prefix, sink.add, on_large)
    return sink


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
    """A key as S3 sent it with ``EncodingType=url``. Most keys need no decoding at all;
    of the rest, a folder (``part%3D0001/``) is shared by many keys and decoded once (an
    escape never spans a ``/``, so decoding by parts is decoding the whole)."""
    if "%" not in text and "+" not in text:
        return text
    cut = text.rfind("/") + 1
    name = text[cut:]
    if "%" in name or "+" in name:
        name = urllib.parse.unquote_plus(name)
    return _decoded_folder(text[:cut]) + name


@functools.lru_cache(maxsize=1024)
def _decoded_folder(folder: str) -> str:
    return urllib.parse.unquote_plus(folder)


@functools.lru_cache(maxsize=1024)
def _listed_time(stamp: str) -> dt.datetime:
    """A listing's LastModified: objects written together share a time, and one object."""
    return parse_timestamp(stamp)


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
        last_modified=_listed_time(stamp),
        storage_class=sys.intern(item.findtext(ns + "StorageClass") or "STANDARD"),
    )
