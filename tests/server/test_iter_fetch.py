"""Files handed over as they land: ``iter_fetch`` on the async ingester and the sync one.

A slow object is held back on the wire by the test proxy, so that files landing before it
are seen handed over while it still downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aio_s3_ingest import DatasetFile, IngestFailed, S3Ingester
from tests._manifest import read_manifest_at
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._transfer import (
    Ingester,
    KiB,
    MiB,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    put_random,
    temp_files,
    via_proxy_fixture,  # noqa: F401 - the "via_proxy" fixture
)


def put_many(s3: Any, bucket: str, names: list[str], size: int = 20 * KiB) -> dict[str, bytes]:
    return {name: put_random(s3, bucket, f"data/{name}", size)[0] for name in names}


async def collect(files: AsyncIterator[DatasetFile], seen: list[str]) -> None:
    async for file in files:
        seen.append(file.relpath)


def on_disk(file: DatasetFile, bodies: dict[str, bytes]) -> bool:
    """Whether the file handed over is complete at its final path, as it should be."""
    return file.path.read_bytes() == bodies[file.relpath]


@pytest.mark.asyncio
async def test_kept_files_first_then_each_fetched_one_while_the_slow_one_downloads(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Two files kept from a first run come first; the new small files are handed over,
    each complete on disk, before the slow object's body has finished; then the slow one;
    the manifest records them all."""
    bodies = put_many(s3, bucket, ["kept1", "kept2"])
    await via_proxy().sync()
    bodies |= put_many(s3, bucket, ["new1", "new2", "new3"])
    bodies["slow"] = put_random(s3, bucket, "data/slow", 1 * MiB)[0]
    proxy.delay(1.5, key="data/slow")
    seen: list[tuple[str, bool]] = []
    slow_done_when_small_seen = []
    async for file in via_proxy(max_concurrent_files=8).iter_fetch():
        assert on_disk(file, bodies), file
        assert file.path == dataset / file.relpath
        assert file.size == len(bodies[file.relpath])
        assert file.key == f"data/{file.relpath}"
        seen.append((file.relpath, file.fetched))
        if file.relpath.startswith("new"):
            slow_done_when_small_seen.append((dataset / "slow").exists())
    assert sorted(seen[:2]) == [("kept1", False), ("kept2", False)]
    assert sorted(seen[2:5]) == [("new1", True), ("new2", True), ("new3", True)]
    assert seen[5] == ("slow", True)
    assert slow_done_when_small_seen == [False, False, False]
    manifest = read_manifest_at(dataset / ".aio-s3-ingest")
    assert sorted(manifest["files"]) == sorted(bodies)


@pytest.mark.asyncio
async def test_ordered_hands_files_over_in_key_order(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """With ``ordered=True`` the files come in key order, kept and fetched mixed, even when
    the first key is the slowest to land; at most a window of files is fetched ahead."""
    bodies = put_many(s3, bucket, ["b", "d"])
    await via_proxy().sync()
    bodies |= put_many(s3, bucket, ["a", "c", "e", "f", "g", "h"])
    proxy.reset_stats()
    proxy.delay(0.5, key="data/a")
    ingester = via_proxy(max_concurrent_files=1)  # a window of 2 files
    files = [file async for file in ingester.iter_fetch(ordered=True)]
    assert [f.relpath for f in files] == ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert [f.fetched for f in files] == [True, False, True, False, True, True, True, True]
    assert all(on_disk(file, bodies) for file in files)
    gets = [exchange.key for exchange in proxy.data_gets()]
    assert gets == [f"data/{name}" for name in "acefgh"]


@pytest.mark.asyncio
async def test_the_window_holds_back_fetches_while_the_caller_waits_on_the_first(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """In key order, while the first file is held back, no more than the window (twice
    ``max_concurrent_files``) of files is fetched."""
    put_many(s3, bucket, [f"f{i:02d}" for i in range(12)])
    proxy.delay(1.0, key="data/f00")
    files = via_proxy(max_concurrent_files=2).iter_fetch(ordered=True)
    first = asyncio.ensure_future(anext(files))
    await asyncio.sleep(0.7)  # f01 to f03 have landed long since; f00 is still held back
    # (the proxy records an exchange once answered): f00 and three more, not f04
    assert sorted(exchange.key for exchange in proxy.data_gets()) == [
        f"data/f{i:02d}" for i in range(1, 4)
    ]
    assert (await first).relpath == "f00"
    rest = [file.relpath async for file in files]
    assert rest == [f"f{i:02d}" for i in range(1, 12)]


@pytest.mark.asyncio
async def test_leaving_the_loop_cancels_the_rest_cleanly(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """Breaking out after the first file: the slow downloads stop, no temp file is left,
    and the next run keeps the file handed over (the journal recorded it) and fetches
    only the rest."""
    bodies = put_many(s3, bucket, ["fast"])
    for i in range(2):
        bodies[f"slow{i}"] = put_random(s3, bucket, f"data/slow{i}", 2 * MiB)[0]
    proxy.stall_after(256 * KiB, 30.0, key="slow")
    files = via_proxy(part_size=64 * MiB).iter_fetch()
    async with contextlib.aclosing(files):
        async for file in files:
            assert file.relpath == "fast"
            break
    assert temp_files(dataset) == []
    assert not (dataset / "slow0").exists()
    proxy.clear_rules()
    report = await via_proxy().sync()
    assert report.kept == ("fast",)
    assert sorted(report.fetched) == ["slow0", "slow1"]


@pytest.mark.asyncio
async def test_a_break_without_closing_is_cleaned_up_by_the_loop(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """A plain ``break``: asyncio closes the abandoned generator soon after, which cancels
    the run; the dataset's lock is free again for the next run."""
    put_many(s3, bucket, ["fast"])
    put_random(s3, bucket, "data/slow", 2 * MiB)
    proxy.stall_after(256 * KiB, 30.0, key="slow")
    async for _ in via_proxy(part_size=64 * MiB).iter_fetch():
        break
    for _ in range(200):
        if temp_files(dataset) == []:
            break
        await asyncio.sleep(0.01)
    assert temp_files(dataset) == []
    proxy.clear_rules()
    report = await via_proxy(lock_timeout=5).sync()
    assert report.fetched == ("slow",)


@pytest.mark.asyncio
async def test_failures_come_after_the_last_file(
    s3: Any, bucket: str, dataset: pathlib.Path, via_proxy: Ingester, proxy: FaultProxy
) -> None:
    """An object refused by S3: every other file is handed over, then IngestFailed names
    the one that failed; in key order the failed one is skipped."""
    put_many(s3, bucket, ["a", "b", "c"])
    proxy.respond(403, "AccessDenied", key="data/b")
    for ordered in (False, True):
        seen: list[str] = []
        with pytest.raises(IngestFailed) as failed:
            await collect(via_proxy(max_attempts=1).iter_fetch(ordered=ordered), seen)
        assert sorted(seen) == ["a", "c"]
        assert list(failed.value.failures) == ["data/b"]


def test_the_sync_ingester_iterates_and_stops_cleanly(
    s3: Any, bucket: str, dataset: pathlib.Path, moto_endpoint: str, proxy: FaultProxy
) -> None:
    """S3Ingester.iter_fetch is a plain iterator; leaving it early cancels the rest (no
    temp file), and a full pass hands over every file once, keeping what landed."""
    bodies = put_many(s3, bucket, ["a", "b"])
    bodies["slow"] = put_random(s3, bucket, "data/slow", 2 * MiB)[0]
    proxy.stall_after(256 * KiB, 30.0, key="slow")
    options: dict[str, Any] = {"dataset_id": "ds", "destination_directory": dataset.parent}
    ingester = S3Ingester(bucket, "data/", endpoint_url=proxy.url, part_size=64 * MiB, **options)
    for file in ingester.iter_fetch(ordered=True):
        assert file.relpath == "a"
        break
    assert temp_files(dataset) == []
    proxy.clear_rules()
    files = list(S3Ingester(bucket, "data/", endpoint_url=moto_endpoint, **options).iter_fetch())
    fetched = {file.relpath: file.fetched for file in files}
    assert sorted(fetched) == ["a", "b", "slow"]  # b may have landed in the first run too
    assert (fetched["a"], fetched["slow"]) == (False, True)
    assert all(on_disk(file, bodies) for file in files)
