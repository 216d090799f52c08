"""A prefix listed as a tree of folders, many listings at once, when it is large.

ListObjectsV2 returns at most 1,000 keys a page, and each page needs the token of the one
before: a million keys are a thousand round trips one after the other. A prefix whose
first page is not its last is listed again one level deep (``Delimiter=/``): its own
keys, and its folders, each listed the same way (its first page alone if small, its
own folders if not), a bounded number of pages in flight. The result is the sequential
listing, key for key, in S3's order. A small prefix costs its one page, as before.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from .._models import ObjectInfo
from .._tasks import run_all

# Listing pages in flight at once for one prefix tree.
PAGES_IN_FLIGHT = 16


@dataclass(frozen=True, slots=True)
class Page:
    """One ListObjectsV2 page: its objects, its folders (with ``Delimiter=/``), and the
    token of the next page, None on the last."""

    objects: list[ObjectInfo]
    folders: list[str] = field(default_factory=list)
    token: str | None = None


PageSource = Callable[[str, str | None, bool], Awaitable[Page]]
"""One page under a prefix: ``(prefix, token, by_folder)``, ``by_folder`` meaning
``Delimiter=/``."""


async def list_tree(pages: PageSource, prefix: str) -> list[ObjectInfo]:
    """Every object under ``prefix``, in S3's order (UTF-8 binary, which is code point
    order), listed by folders where that is faster."""
    limiter = anyio.CapacityLimiter(PAGES_IN_FLIGHT)

    async def page(under: str, token: str | None, by_folder: bool) -> Page:
        async with limiter:
            return await pages(under, token, by_folder)

    objects = await _subtree(page, prefix)
    objects.sort(key=lambda obj: obj.key)
    return objects


async def _subtree(page: PageSource, prefix: str) -> list[ObjectInfo]:
    first = await page(prefix, None, False)
    if first.token is None:
        return first.objects
    level = await _level(page, prefix)
    if len(level.folders) < 2:  # nothing to share out: go on page after page
        return first.objects + await _pages_from(page, prefix, first.token)
    found: dict[str, list[ObjectInfo]] = {}

    async def folder(name: str) -> None:
        found[name] = await _subtree(page, name)

    await run_all(functools.partial(folder, name) for name in level.folders)
    return level.objects + list(itertools.chain.from_iterable(found.values()))


async def _level(page: PageSource, prefix: str) -> Page:
    """The keys right under ``prefix`` and its folders, over all pages."""
    objects: list[ObjectInfo] = []
    folders: list[str] = []
    token: str | None = None
    while True:
        result = await page(prefix, token, True)
        objects += result.objects
        folders += result.folders
        if (token := result.token) is None:
            return Page(objects, folders)


async def _pages_from(page: PageSource, prefix: str, token: str | None) -> list[ObjectInfo]:
    objects: list[ObjectInfo] = []
    while token is not None:
        result = await page(prefix, token, False)
        objects += result.objects
        token = result.token
    return objects
