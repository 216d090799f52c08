"""Benchmark datasets: random objects written as plain files for nginx, plus their index.

Each dataset lives in its own bucket under ``.work/origin/objects/<bucket>/``. The index is
written twice: as tab-separated rows (sorted by key, loaded by the origin for listings and
ETags) and as JSON (read by the harness to verify downloads). Datasets are regenerated only
when their spec changes, so repeated runs reuse them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import shutil
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

PREFIX = "data/"
DECOYS = ("aa-outside/decoy.bin", "zz-outside/decoy.bin")
CHUNK = 1 << 20
LISTING_FOLDERS = 1000
UNITS = {"": 1, "B": 1, "K": 1000, "KB": 1000, "KIB": 1024, "M": 10**6, "MB": 10**6}
UNITS |= {"MIB": 1 << 20, "G": 10**9, "GB": 10**9, "GIB": 1 << 30}


@dataclass(frozen=True)
class Part:
    """``count`` objects of ``size`` bytes each."""

    count: int
    size: int


@dataclass(frozen=True)
class Dataset:
    """A named set of objects in its own bucket, below ``PREFIX``."""

    name: str
    bucket: str
    spec: str
    parts: tuple[Part, ...]

    @property
    def count(self) -> int:
        return sum(p.count for p in self.parts)

    @property
    def index_only(self) -> bool:
        """A listing-only dataset: the origin lists its keys from the index alone, with no
        object files behind them (a million keys need no million files)."""
        return self.name == "listing"

    @property
    def total_bytes(self) -> int:
        return sum(p.count * p.size for p in self.parts)


def parse_size(text: str) -> int:
    """'64KiB' -> 65536; decimal (KB, MB) and binary (KiB, MiB) units are both accepted."""
    m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in UNITS:
        raise ValueError(f"bad size {text!r} (use e.g. 64KiB, 8MiB, 1GiB)")
    return int(m.group(1)) * UNITS[m.group(2).upper()]


def parse_parts(spec: str) -> tuple[Part, ...]:
    """'200x1MiB+4x64MiB' -> (Part(200, 1 MiB), Part(4, 64 MiB))."""
    parts = []
    for item in spec.split("+"):
        count, sep, size = item.partition("x")
        if not sep or not count.strip().isdigit():
            raise ValueError(f"bad dataset spec {spec!r} (use COUNTxSIZE[+COUNTxSIZE...])")
        parts.append(Part(int(count), parse_size(size)))
    return tuple(parts)


def make_dataset(name: str, spec: str, quick: bool) -> Dataset:
    """Quick and full datasets get different buckets so switching modes regenerates nothing."""
    bucket = f"{'quick' if quick else 'bench'}-{name}"
    return Dataset(name, bucket, spec, parse_parts(spec))


def size_label(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def planned_keys(ds: Dataset) -> list[tuple[str, int]]:
    """Keys below PREFIX, a few directories deep, 250 objects per directory; a listing
    dataset's in LISTING_FOLDERS folders, as a partitioned export lays them out."""
    if ds.index_only:
        per_folder = max(1, -(-ds.count // LISTING_FOLDERS))
        size = ds.parts[0].size
        return [(f"{PREFIX}part={i // per_folder:04d}/{i:07d}.bin", size) for i in range(ds.count)]
    keys = []
    for part in ds.parts:
        label = size_label(part.size)
        keys += [
            (f"{PREFIX}{label}/{i // 250:03d}/{i:06d}.bin", part.size) for i in range(part.count)
        ]
    return keys


class Store:
    """The origin's disk: object files and both index forms, under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects_dir = root / "objects"
        self.index_dir = root / "index"

    def rows(self, ds: Dataset) -> int:
        """How many objects the bucket's index holds (without loading a listing-only one)."""
        if ds.index_only:
            return int(json.loads((self.index_dir / f"{ds.bucket}.json").read_text())["count"])
        return len(self.load_index(ds))

    def load_index(self, ds: Dataset) -> dict[str, list]:
        """key -> [size, md5 hex, last-modified ISO, CRC32 base64] for every object in the
        bucket."""
        data = json.loads((self.index_dir / f"{ds.bucket}.json").read_text())
        return data["objects"]

    def prefix_index(self, ds: Dataset) -> dict[str, list]:
        """The objects a downloader should fetch: those below PREFIX."""
        return {k: v for k, v in self.load_index(ds).items() if k.startswith(PREFIX)}

    def is_current(self, ds: Dataset) -> bool:
        path = self.index_dir / f"{ds.bucket}.json"
        if not path.exists():
            return False
        return json.loads(path.read_text()).get("spec") == ds.spec

    def ensure(self, ds: Dataset) -> bool:
        """Generate the dataset unless an identical one is on disk; True if it was generated."""
        if self.is_current(ds):
            if not ds.index_only:
                self._add_checksums(ds)
            return False
        bucket_dir = self.objects_dir / ds.bucket
        shutil.rmtree(bucket_dir, ignore_errors=True)
        index: dict[str, list] = {}
        if ds.index_only:
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            for key, size in planned_keys(ds):
                index[key] = [size, hashlib.md5(key.encode()).hexdigest(), stamp, "AAAAAA=="]
            self.write_index(ds, index)
            return True
        for key, size in [*planned_keys(ds), *((d, 1024) for d in DECOYS)]:
            index[key] = self._write_object(bucket_dir / key, size)
        self.write_index(ds, index)
        return True

    def _add_checksums(self, ds: Dataset) -> None:
        """Give an index written before the origin sent checksums a CRC32 per object (and
        one written as Lua its rows)."""
        index = self.load_index(ds)
        if all(len(row) > 3 for row in index.values()):
            if not (self.index_dir / f"{ds.bucket}.tsv").exists():
                self.write_index(ds, index)
            return
        bucket_dir = self.objects_dir / ds.bucket
        for key, row in index.items():
            crc = 0
            with (bucket_dir / key).open("rb") as f:
                while block := f.read(CHUNK):
                    crc = zlib.crc32(block, crc)
            index[key] = [*row[:3], _b64_crc32(crc)]
        self.write_index(ds, index)

    def _write_object(self, path: Path, size: int, min_mtime: float = 0.0) -> list:
        """Random bytes written to a temp file then renamed, so nginx never serves half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        md5 = hashlib.md5()
        crc = 0
        with tmp.open("wb") as f:
            left = size
            while left > 0:
                block = os.urandom(min(CHUNK, left))
                md5.update(block)
                crc = zlib.crc32(block, crc)
                f.write(block)
                left -= len(block)
        mtime = float(max(int(time.time()), int(min_mtime) + 1))
        os.utime(tmp, (mtime, mtime))
        tmp.replace(path)
        stamp = datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return [size, md5.hexdigest(), stamp, _b64_crc32(crc)]

    def write_index(self, ds: Dataset, index: dict[str, list]) -> None:
        """The index as the origin reads it (tab-separated rows, sorted by key; the first
        line of a listing-only one says so) and as JSON for the harness."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        if any(ch in key for key in index for ch in "\t\n"):
            raise ValueError(f"{ds.bucket}: a key holds a tab or a newline")
        rows = [f"{k}\t{v[0]}\t{v[1]}\t{v[2]}\t{v[3]}" for k, v in sorted(index.items())]
        head = ["#index_only"] if ds.index_only else []
        served, stale = (".tsv", "\n".join([*head, *rows]) + "\n"), ".lua"
        # A listing-only bucket's keys stay out of the harness's memory: its RSS is the
        # floor of every peer's peak RSS (a forked child starts with its parent's).
        whole = {"count": len(index)} if ds.index_only else {"objects": index}
        doc = json.dumps({"spec": ds.spec, "bucket": ds.bucket, **whole})
        for suffix, text in (served, (".json", doc)):
            tmp = self.index_dir / f".{ds.bucket}{suffix}.tmp"
            tmp.write_text(text)
            tmp.replace(self.index_dir / f"{ds.bucket}{suffix}")
        (self.index_dir / f"{ds.bucket}{stale}").unlink(missing_ok=True)

    def rewrite_fraction(self, ds: Dataset, fraction: float, seed: int) -> list[str]:
        """Give a random ``fraction`` of the dataset new bytes (so new MD5/ETag); returns keys."""
        index = self.load_index(ds)
        keys = sorted(k for k in index if k.startswith(PREFIX))
        chosen = random.Random(seed).sample(keys, max(1, round(len(keys) * fraction)))
        for key in chosen:
            old_mtime = (self.objects_dir / ds.bucket / key).stat().st_mtime
            index[key] = self._write_object(
                self.objects_dir / ds.bucket / key, index[key][0], old_mtime
            )
        self.write_index(ds, index)
        return chosen


def _b64_crc32(crc: int) -> str:
    """A CRC32 as S3 writes it in ``x-amz-checksum-crc32``: base64 of its 4 big-endian bytes."""
    return base64.b64encode(crc.to_bytes(4, "big")).decode()
