"""The listing's objects sorted into the run's selection as its pages arrive, in any order.

Each object is decided on its own: its local path, the patterns, folder markers, the
shard. What needs every key (no match at all, unsafe or colliding paths, the spread of
the timestamps, names equal but for case) is checked in :meth:`Selector.finish`, before
anything is written. Only the wanted files go on; of the other candidates the selector
keeps the key alone, so a large prefix costs memory for what the run fetches and little
for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from collections.abc import Set as AbstractSet

from ._config import IngestConfig
from ._log import logger
from ._models import ObjectInfo, WantedFile
from ._select import (
    Patterns,
    WantedPaths,
    base_of,
    check_case_clashes,
    check_timestamps,
    relative_path,
    require_matches,
    shard_of,
)
from .errors import UnsafeKeyError


class Selector:
    """Fed the listed candidates in batches (:meth:`add`); hands each wanted file of this
    shard to ``wanted`` as it comes, and remembers what the plan needs of the rest.
    ``where`` is the bucket and the prefix listed."""

    def __init__(
        self,
        where: tuple[str, str],
        patterns: Sequence[str],
        wanted: Callable[[WantedFile], None],
        *,
        tolerance_hours: float = -1,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self._bucket, self._prefix = where
        self._patterns = patterns
        self._match = Patterns(patterns)
        self._base = base_of(self._prefix)
        prefix = self._prefix
        self._below = prefix + "/" if prefix and not prefix.endswith("/") else None
        self._tolerance = tolerance_hours
        self._shard = shard
        self._wanted = wanted
        self.paths = WantedPaths(self._base)
        self.others: set[str] = set()  # candidate keys this run does not fetch or keep
        self._tracked: AbstractSet[str] | None = None  # the keys of the local manifest
        self.skipped: dict[str, str] = {}
        self._here: set[str] = set()  # this shard's wanted paths (with a shard)
        self._span: list[WantedFile] = []  # the oldest and the newest wanted file
        self._checked = False

    @classmethod
    def for_config(cls, config: IngestConfig, wanted: Callable[[WantedFile], None]) -> Selector:
        """The selection the configuration asks for."""
        return cls(
            (config.s3_bucket_name, config.s3_key_prefix),
            config.file_patterns,
            wanted,
            tolerance_hours=config.s3_timestamp_tolerance,
            shard=config.shard,
        )

    def add(self, objects: Iterable[ObjectInfo]) -> None:
        """Sort one batch of candidates."""
        below, base, match = self._below, self._base, self._match
        for obj in objects:
            key = obj.key
            if below is not None and key.startswith(below):
                relpath = key[len(below) :]
            else:
                relpath = key[len(base) :]
            if key.endswith("/"):
                self._folder_marker(obj, relpath)
            elif not match(relpath):
                self._other(key)
            else:
                self._add_wanted(WantedFile(relpath, obj))

    def _other(self, key: str) -> None:
        """Remember a candidate left out, if a tracked file may have come from it."""
        if self._tracked is None or key in self._tracked:
            self.others.add(key)

    def only_tracked(self, keys: AbstractSet[str]) -> None:
        """From here on, remember only the left-out keys among ``keys`` (those of the
        local manifest): :meth:`is_present` is asked of no other key."""
        self._tracked = keys
        self.others &= keys

    def _folder_marker(self, obj: ObjectInfo, relpath: str) -> None:
        """A key ending in ``/`` can be no file: skipped, and said so when it holds data."""
        if obj.size and self._match(relpath.rstrip("/")):
            self.skipped[obj.key] = (
                f"the key ends in '/' but holds {obj.size} byte(s); no file can take its name"
            )

    def _add_wanted(self, item: WantedFile) -> None:
        key = item.obj.key
        self.paths.add(item.relpath, key)
        if self._tolerance >= 0:
            self._widen(item)
        if self._shard is not None:
            index, count = self._shard
            if shard_of(key, count) != index:
                self._other(key)  # present, another worker's: never deleted here
                return
            self._here.add(item.relpath)
        self._wanted(item)

    def _widen(self, item: WantedFile) -> None:
        if not self._span:
            self._span = [item, item]
        elif item.obj.last_modified < self._span[0].obj.last_modified:
            self._span[0] = item
        elif item.obj.last_modified > self._span[1].obj.last_modified:
            self._span[1] = item

    def check(self) -> None:
        """The checks over every key, once the listing is complete (once; a first run makes
        them before it creates anything): a match at all, safe paths, the timestamps."""
        if self._checked:
            return
        self._checked = True
        for key, why in sorted(self.skipped.items()):
            logger.warning("skipping s3://%s/%s: %s", self._bucket, key, why)
        require_matches(self.paths, f"s3://{self._bucket}/{self._prefix}", self._patterns)
        if problems := self.paths.problems():
            raise UnsafeKeyError(problems)
        check_timestamps(self._span, self._tolerance)

    def finish(self, *, ignores_case: bool) -> None:
        """:meth:`check`, and where the destination filesystem ignores case, this shard's
        names that are equal but for case refused."""
        self.check()
        if ignores_case:
            here = sorted(self.wanted_here)
            check_case_clashes([(path, self.paths.key_of(path)) for path in here])

    @property
    def wanted_here(self) -> Collection[str]:
        """The wanted paths of this shard (all of them without one)."""
        return self._here if self._shard is not None else self.paths

    def is_present(self, key: str, relpath: str) -> bool:
        """True when ``key`` is a candidate this run does not take, and lands at ``relpath``
        (a file whose object merely left the patterns, or went to another shard)."""
        return key in self.others and relative_path(key, self._prefix) == relpath
