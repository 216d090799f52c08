"""GETs through aiobotocore, for what the direct path declines; imported only then.

Importing aiobotocore (and aiohttp under it) adds to a process's start and exit more
than a small dataset's transfer takes (figures: benchmarks/README.md, "Design figures
behind the code"), so a run on the direct path never does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import botocore.exceptions as bce

from .._http.body import Destination, copy_buffered
from .._http.parse import HttpError
from .._integrity.expected import CHECKSUM_MODE
from .._models import ObjectInfo
from .._retry import Attempts
from .._run import botocore_call, count_botocore_requests
from .._s3errors import is_object_changed, translate
from .getter import Body, ObjectChanged, whole_object
from .throttle import Throttle

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


class _BotocoreBody:
    def __init__(self, response: dict[str, object]) -> None:
        self._stream = response["Body"]
        self.content_length = int(response["ContentLength"])  # type: ignore[call-overload]
        self.headers: Mapping[str, str] = _headers(response)

    async def readinto(self, view: memoryview, /) -> int:
        try:
            data: bytes = await self._stream.read(len(view))  # type: ignore[attr-defined]
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            # A broken body is resumed like the direct path's (a ConnectionError).
            raise HttpError(f"the body broke off: {exc}") from exc
        view[: len(data)] = data
        return len(data)

    async def copy_into(self, dest: Destination, size: int, /) -> int:
        return await copy_buffered(self.readinto, dest, size)

    def close(self) -> None:
        self._stream.close()  # type: ignore[attr-defined]


class BotocoreGetter:
    """GETs through aiobotocore's ``get_object``: botocore's retries (within the range's
    budget of attempts, see :func:`aio_s3_ingest._run.count_botocore_requests`) and error
    parsing."""

    def __init__(
        self, client: S3Client, bucket: str, throttle: Throttle, *, checksums: bool = False
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._throttle = throttle
        self._checksums = checksums
        count_botocore_requests(client, throttle)
        if checksums:
            for operation in ("GetObject", "HeadObject"):
                client.meta.events.register(f"before-sign.s3.{operation}", _ask_for_checksum)

    async def open(self, obj: ObjectInfo, start: int, end: int, attempts: Attempts) -> Body:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": obj.key, "IfMatch": obj.etag}
        if not (self._checksums and whole_object(obj, start, end)):
            params["Range"] = f"bytes={start}-{end - 1}"
        response = await self._call(self._client.get_object, params, obj, attempts)
        return _BotocoreBody(response)

    async def head(
        self, obj: ObjectInfo, attempts: Attempts, part: int | None = None
    ) -> Mapping[str, str]:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": obj.key, "IfMatch": obj.etag}
        if part is not None:
            params["PartNumber"] = part
        return _headers(await self._call(self._client.head_object, params, obj, attempts))

    async def _call(
        self, operation: Any, params: dict[str, Any], obj: ObjectInfo, attempts: Attempts
    ) -> dict[str, Any]:
        try:
            async with self._throttle.slot():
                with botocore_call(attempts.run, obj.key, attempts):
                    response: dict[str, Any] = await operation(**params)
        except bce.ClientError as exc:
            if is_object_changed(exc):
                raise ObjectChanged from exc
            raise translate(exc, bucket=self._bucket, key=obj.key) from exc
        except bce.BotoCoreError as exc:
            raise translate(exc, bucket=self._bucket, key=obj.key) from exc
        self._throttle.on_success()
        return response

    async def aclose(self) -> None:
        """The client belongs to the caller."""


def _headers(response: Mapping[str, Any]) -> Mapping[str, str]:
    """The raw response headers botocore keeps (names lower-cased)."""
    headers: Mapping[str, str] = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return headers


def _ask_for_checksum(request: Any, **_: Any) -> None:
    """Ask S3 for the object's checksum as the direct path does, by the header alone:
    with ``ChecksumMode`` botocore would check the body itself, a second pass over the
    bytes that the run's own check (:mod:`aio_s3_ingest._transfer.verify`) makes anyway."""
    for name, value in CHECKSUM_MODE.items():
        request.headers[name] = value
