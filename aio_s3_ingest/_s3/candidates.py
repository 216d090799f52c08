"""The candidates of a run: the listed objects, narrowed by the S3 manifest when there is one.

The manifest sits at a place its name gives (:func:`.._s3manifest.manifest_keys`), among
the keys it describes. A prefix of one page is seen whole, manifest and all. For a larger
one, each place is looked up with one listing request before the pages flow, so they can
be narrowed as they arrive (:class:`.._s3manifest.ManifestFilter`) instead of held until
the listing ends. Objects at a manifest's place are never data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic

from .. import _s3manifest
from .._config import IngestConfig
from .._http.parse import HttpError
from .._log import logger
from .._models import ObjectInfo
from .._retry import BROKEN_BODY, Attempts, RetryPolicy
from .._run import Run
from ..errors import IngestError, ObjectChangedError, TransferError
from .client import S3Handles
from .getter import Getter, ObjectChanged
from .list_tree import PageRequest, PageSource
from .listing import SinkT, list_objects


async def list_candidates(
    s3: S3Handles, config: IngestConfig, run: Run, new_sink: Callable[[], SinkT]
) -> SinkT:
    """The candidates under the prefix, into a sink made for the listing, page by page
    as they arrive (a prefix of one page: in one batch)."""
    bucket, prefix = config.s3_bucket_name, config.s3_key_prefix
    if config.manifest_file_name is None:
        return await list_objects(s3, bucket, prefix, run, new_sink)
    scan = _ManifestScan(s3, config, run, new_sink)
    await list_objects(s3, bucket, prefix, run, scan.begin, scan.look_up)
    return await scan.finish()


class _ManifestScan(Generic[SinkT]):
    """One listing with a manifest name: the pages held until it is known whether and
    which manifest applies (at once for a large prefix, at the end for one page), then
    narrowed by it on their way to the run's sink."""

    def __init__(
        self, s3: S3Handles, config: IngestConfig, run: Run, new_sink: Callable[[], SinkT]
    ) -> None:
        self._s3, self._config, self._run = s3, config, run
        self._places = _s3manifest.manifest_keys(config.s3_key_prefix, config.manifest_file_name)
        self._new_sink = new_sink
        self._sink: SinkT | None = None
        self._held: list[ObjectInfo] | None = []  # None once the manifest is known
        self._narrowing: _s3manifest.ManifestFilter | None = None

    def begin(self) -> _ManifestScan[SinkT]:
        """A new listing (the first, or one started over): nothing known yet."""
        self._sink = self._new_sink()
        self._held = []
        self._narrowing = None
        return self

    def add(self, objects: list[ObjectInfo]) -> None:
        if self._held is not None:
            self._held += objects
            return
        objects = [obj for obj in objects if obj.key not in self._places]
        if self._narrowing is not None:
            objects = self._narrowing.keep(objects)
        self._begun().add(objects)

    def _begun(self) -> SinkT:
        if self._sink is None:
            raise RuntimeError("a listing page came before the listing began")
        return self._sink

    async def look_up(self, pages: PageSource) -> None:
        """A large prefix: each place listed (its exact key sorts first under its own
        prefix), and the manifest read if one is there."""
        found = []
        for place in self._places:
            page = await pages(PageRequest(place))
            found += [obj for obj in page.objects[:1] if obj.key == place]
        await self._decide(found)

    async def finish(self) -> SinkT:
        """The run's sink, once the listing is complete and agrees with the manifest."""
        if self._held is not None:  # one page: the places are in it, or nowhere
            held = self._held
            await self._decide(held)
            self.add(held)
        if self._narrowing is not None:
            self._narrowing.finish()
        return self._begun()

    async def _decide(self, seen: list[ObjectInfo]) -> None:
        """The manifest that applies among the objects ``seen`` (the first place's), read;
        or none. Pages flow on from here."""
        self._held = None
        config = self._config
        chosen, found = _s3manifest.find_manifest(
            seen, config.s3_key_prefix, config.manifest_file_name
        )
        if chosen is None:
            return
        for other in found:
            if other is not chosen:
                logger.warning("S3 manifest %r is ignored: %r is used", other.key, chosen.key)
        body = await _read_object(self._s3.getter, chosen, self._s3.retry, self._run)
        entries = _s3manifest.parse_s3_manifest(chosen.key, body)
        logger.debug("S3 manifest %r lists %d object(s)", chosen.key, len(entries))
        bucket = self._config.s3_bucket_name
        self._narrowing = _s3manifest.ManifestFilter(chosen.key, entries, bucket)


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
