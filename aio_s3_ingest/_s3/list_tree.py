"""A large prefix listed as several key ranges at once, cut at its folders.

ListObjectsV2 returns at most 1,000 keys a page, and each page needs the token of the one
before: a million keys are a thousand round trips one after the other. A prefix whose
first page is not its last is looked at one level deep (``Delimiter=/``) for its folders;
the key space is then cut at folder boundaries into up to :data:`RANGES` ranges, each
listed page after page from its first folder (``StartAfter``) until it reaches the next
range, all ranges at once. Ranges of whole folders keep the work even whether the
folders are many and small or few and large; a range's last page may run past its end,
and those keys are the next range's. The result is the sequential listing, key for key;
a prefix that fits in one page costs that one request, as before. Pages go
to the caller as they arrive, so the listing need not be held whole.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .._models import ObjectInfo
from .._tasks import run_all

# Key ranges listed at once for one prefix.
RANGES = 16


@dataclass(frozen=True, slots=True)
class Page:
    """One ListObjectsV2 page: its objects, its folders (with ``Delimiter=/``), and the
    token of the next page, None on the last."""

    objects: list[ObjectInfo]
    folders: list[str] = field(default_factory=list)
    token: str | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What one page asks for: the ``prefix``, the ``token`` of a listing under way, or
    else where to start (``start_after``), and whether by folder (``Delimiter=/``)."""

    prefix: str
    token: str | None = None
    start_after: str | None = None
    by_folder: bool = False


PageSource = Callable[[PageRequest], Awaitable[Page]]
"""One ListObjectsV2 request, sent."""


Emit = Callable[[list[ObjectInfo]], None]
"""Where the listed objects go, a page's worth at a time."""


async def list_tree(
    pages: PageSource,
    prefix: str,
    emit: Emit,
    on_large: Callable[[PageSource], Awaitable[None]] | None = None,
) -> None:
    """Every object under ``prefix``, handed to ``emit`` page by page as the pages arrive:
    in S3's order within a key range, the ranges interleaved (listed at once where that
    is faster). Each key is emitted once. A prefix of one page is emitted in one call;
    for a larger one, ``on_large`` is awaited first, given the page source."""
    first = await pages(PageRequest(prefix))
    if first.token is None:
        emit(first.objects)
        return
    if on_large is not None:
        await on_large(pages)
    folders = await _folders(pages, prefix)
    if len(folders) < 2:  # nothing to cut at: go on page after page
        emit(first.objects)
        await _range(pages, PageRequest(prefix, first.token), emit)
        return
    cuts = [folders[len(folders) * i // RANGES] for i in range(1, RANGES)]
    starts = sorted(set(cuts) - {folders[0]})
    ends: list[str | None] = [*starts, None]

    async def one(index: int) -> None:
        if index == 0:  # the first page began it
            emit([obj for obj in first.objects if obj.key < starts[0]])
            if first.objects[-1].key < starts[0]:
                await _range(pages, PageRequest(prefix, first.token), emit, end=starts[0])
        else:
            low = starts[index - 1]
            request = PageRequest(prefix, start_after=_just_before(low))
            await _range(pages, request, emit, low=low, end=ends[index])

    await run_all(functools.partial(one, index) for index in range(len(ends)))


async def _folders(pages: PageSource, prefix: str) -> list[str]:
    """The folders right under ``prefix``, over all pages."""
    folders: list[str] = []
    request = PageRequest(prefix, by_folder=True)
    while True:
        page = await pages(request)
        folders += page.folders
        if page.token is None:
            return folders
        request = PageRequest(prefix, page.token, by_folder=True)


async def _range(
    pages: PageSource,
    request: PageRequest,
    emit: Emit,
    *,
    low: str | None = None,
    end: str | None = None,
) -> None:
    """Pages from ``request`` on, until the listing ends or passes ``end``; only the keys
    from ``low`` up to ``end`` are emitted (other ranges list the rest)."""
    while True:
        page = await pages(request)
        objects = page.objects
        if low is not None and objects and objects[0].key < low:
            objects = [obj for obj in objects if obj.key >= low]
        passed = False
        if end is not None and objects and objects[-1].key >= end:
            objects, passed = [obj for obj in objects if obj.key < end], True
        emit(objects)
        if page.token is None or passed:
            return
        request = PageRequest(request.prefix, page.token)


def _just_before(folder: str) -> str:
    """A ``StartAfter`` that lists every key from ``folder`` (which ends in ``/``) on: the
    folder with its ``/`` turned into ``.``, the character before it. Keys between the
    two belong to the range before, which lists them; this one drops them."""
    return folder[:-1] + "."
