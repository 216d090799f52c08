"""A run downloads while its listing goes on, and nothing lands before the listing's
checks have passed (moto server, the test proxy slowing the listing's later pages)."""

from __future__ import annotations

import asyncio
import pathlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest

from aio_s3_ingest import IngestFailed, S3AccessError, UnsafeKeyError
from tests._helpers import STATE_DIR, MakeIngester, data_files
from tests._proxy import FaultProxy, proxy_fixture  # noqa: F401 - the "proxy" fixture
from tests._proxy_rules import Request

FOLDERS = 12
PER_FOLDER = 90  # 1,080 keys: more than one page, so the listing goes on in key ranges
PATTERNS = ["day=00/*", "day=11/*"]  # the first page's folder, and the last range's
LATE_PAUSE = 0.5  # how long each later listing page is held back


@pytest.fixture
def many_keys(s3: Any, bucket: str) -> list[str]:
    keys = [f"data/day={d:02d}/part-{i:03d}.csv" for d in range(FOLDERS) for i in range(PER_FOLDER)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=key.encode()), keys))
    return keys


def _is_later_page(request: Request) -> bool:
    """A listing request after the first page (a key range, or the folders)."""
    query = request.query
    return (
        not request.key
        and "list-type=2" in query
        and ("start-after" in query or "delimiter" in query)
    )


class Snapshots:
    """What the proxy had served, and what had landed, each time a later page was held
    back and then let through."""

    def __init__(self, proxy: FaultProxy, dataset: pathlib.Path) -> None:
        self._proxy = proxy
        self._dataset = dataset
        self._lock = threading.Lock()
        self.seen: list[tuple[int, int]] = []  # (data GETs answered, files landed)

    def hold_back(self, request: Request) -> None:
        time.sleep(LATE_PAUSE)
        answered = sum(1 for x in self._proxy.data_gets() if x.status == 200)
        with self._lock:
            self.seen.append((answered, len(data_files(self._dataset))))


def _wanted(keys: list[str]) -> list[str]:
    return sorted(
        key.removeprefix("data/")
        for key in keys
        if key.startswith(("data/day=00/", "data/day=11/"))
    )


@pytest.mark.asyncio
async def test_files_download_before_the_listing_ends_and_land_after_it(
    many_keys: list[str], proxy: FaultProxy, make_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    dataset = dest / "ds"
    snapshots = Snapshots(proxy, dataset)
    proxy.before_forward(snapshots.hold_back, when=_is_later_page)
    async with make_ingester(endpoint_url=proxy.url, file_pattern=PATTERNS) as ingester:
        report = await ingester.sync()
    assert data_files(dataset) == _wanted(many_keys)
    assert sorted(report.fetched) == _wanted(many_keys)
    assert snapshots.seen, "the listing had no later page"
    assert max(answered for answered, _ in snapshots.seen) > 0  # fetched while listing
    assert all(landed == 0 for _, landed in snapshots.seen)  # none in place before its end
    for relpath in data_files(dataset):
        assert (dataset / relpath).read_bytes() == f"data/{relpath}".encode()


@pytest.mark.asyncio
@pytest.mark.parametrize("first_run", [True, False], ids=["first-run", "existing"])
async def test_a_check_that_fails_late_lands_nothing(
    s3: Any,
    bucket: str,
    many_keys: list[str],
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    dest: pathlib.Path,
    first_run: bool,
) -> None:
    """A key in the listing's last range needs a folder that is a wanted file: the run is
    refused after files of the first page were fetched, and none of them lands. A first
    run leaves no directory; an existing dataset stays as it was, with no temp file."""
    dataset = dest / "ds"
    async with make_ingester(endpoint_url=proxy.url, file_pattern=PATTERNS) as ingester:
        if not first_run:
            await ingester.fetch_data()
            s3.put_object(Bucket=bucket, Key="data/day=00/new.csv", Body=b"new")
        before = data_files(dataset)
        s3.put_object(Bucket=bucket, Key="data/day=11/part-089.csv/x", Body=b"x")
        snapshots = Snapshots(proxy, dataset)
        proxy.before_forward(snapshots.hold_back, when=_is_later_page)
        proxy.reset_stats()
        with pytest.raises(UnsafeKeyError, match=r"part-089\.csv"):
            await ingester.fetch_data()
    assert any(x.status == 200 for x in proxy.data_gets())  # files were fetched first
    assert data_files(dataset) == before
    if first_run:
        assert not await anyio.Path(dest).exists()
    else:
        assert not [path async for path in anyio.Path(dataset / STATE_DIR / "tmp").iterdir()]
        assert "day=00/new.csv" not in before


@pytest.mark.asyncio
async def test_a_listing_that_fails_late_on_a_first_run_leaves_no_directory(
    many_keys: list[str], proxy: FaultProxy, make_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """The first page's files are fetched, then a later page is refused: the listing's
    error is raised, and the directory the run made for its temp files is gone."""
    snapshots = Snapshots(proxy, dest / "ds")
    proxy.before_forward(snapshots.hold_back, when=_is_later_page)
    proxy.respond(403, "AccessDenied", when=lambda r: _is_later_page(r) and "day%3D11" in r.query)
    async with make_ingester(endpoint_url=proxy.url, file_pattern=PATTERNS) as ingester:
        with pytest.raises(S3AccessError):
            await ingester.fetch_data()
    assert any(x.status == 200 for x in proxy.data_gets())
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_a_run_cancelled_while_it_lists_leaves_nothing(
    many_keys: list[str], proxy: FaultProxy, make_ingester: MakeIngester, dest: pathlib.Path
) -> None:
    """Cancelled once files of the first page were fetched, while the later pages are
    held back: no file lands, no temp file stays, and the first run's folders are gone."""
    snapshots = Snapshots(proxy, dest / "ds")
    proxy.before_forward(snapshots.hold_back, when=_is_later_page)
    async with make_ingester(endpoint_url=proxy.url, file_pattern=PATTERNS) as ingester:
        run = asyncio.ensure_future(ingester.fetch_data())
        for _ in range(1500):  # up to 30 s for the first file fetched
            if any(x.status == 200 for x in proxy.data_gets()):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("no file was fetched")
        await asyncio.sleep(0.2)  # more of them finish and wait behind the gate
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
    assert not await anyio.Path(dest).exists()


@pytest.mark.asyncio
async def test_a_waiting_file_whose_folder_leads_outside_fails_alone(
    many_keys: list[str],
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    dest: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    """The first page's files of ``day=00`` finish while the listing is held back, so they
    wait; their folder is a symlink leading out of the dataset. Each of them fails with
    ``UnsafeKeyError`` when the gate opens, nothing lands outside, and the other files
    land."""
    outside = anyio.Path(tmp_path / "outside")
    await outside.mkdir()
    dataset = anyio.Path(dest / "ds")
    await dataset.mkdir(parents=True)
    await (dataset / "day=00").symlink_to(outside, target_is_directory=True)
    snapshots = Snapshots(proxy, dest / "ds")
    proxy.before_forward(snapshots.hold_back, when=_is_later_page)
    async with make_ingester(endpoint_url=proxy.url, file_pattern=PATTERNS) as ingester:
        with pytest.raises(IngestFailed) as info:
            await ingester.fetch_data()
    failed = info.value.failures
    assert sorted(failed) == sorted(k for k in many_keys if k.startswith("data/day=00/"))
    assert all(isinstance(exc, UnsafeKeyError) for exc in failed.values())
    assert max(answered for answered, _ in snapshots.seen) > 0  # they waited at the gate
    assert [path async for path in outside.iterdir()] == []
    landed = sorted(k for k in many_keys if k.startswith("data/day=11/"))
    assert sorted(info.value.report.fetched) == [k.removeprefix("data/") for k in landed]
