"""The order of a run's stages around the dataset's lock: every run that writes is locked
while it lists (it fetches while it lists), an existing dataset's local state is read
beside the listing, and a first run that fails leaves nothing it created."""

from __future__ import annotations

import fcntl
import os
import pathlib

import pytest

from aio_s3_ingest import AsyncS3Ingester, S3AccessError
from tests._helpers import STATE_DIR, data_files
from tests._manifest import read_manifest_at
from tests._proxy import (
    FaultProxy,
    proxy_fixture,  # noqa: F401 - the "proxy" fixture
)
from tests._proxy_rules import Request
from tests._sync import (
    FILES,
    dataset_fixture,  # noqa: F401 - the "dataset" fixture
    fetched,
    ingester_fixture,  # noqa: F401 - the "ingester" fixture
)


def _is_listing(request: Request) -> bool:
    return not request.key and "list-type=2" in request.query


def _exists(path: pathlib.Path) -> bool:
    return path.exists()


def _locked(lock_path: pathlib.Path) -> bool:
    """Whether some run holds the dataset's lock (a second descriptor cannot take it)."""
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.mark.asyncio
async def test_every_run_is_locked_while_it_lists(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """Both runs take the lock before their listing (files are fetched while it runs,
    and the second run's local state is read beside it); the second keeps every file."""
    lock = dataset / STATE_DIR / "lock"
    seen: list[bool] = []
    proxy.before_forward(
        lambda request: seen.append(_exists(lock) and _locked(lock)), when=_is_listing
    )
    await ingester.fetch_data()
    await ingester.fetch_data()
    assert seen == [True, True]
    assert fetched(proxy) == sorted(FILES)  # the second run fetched nothing


@pytest.mark.asyncio
async def test_a_first_run_whose_listing_fails_creates_nothing(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """A refused listing on a first run leaves no dataset directory behind."""
    proxy.respond(403, "AccessDenied", when=_is_listing)
    with pytest.raises(S3AccessError):
        await ingester.fetch_data()
    assert not _exists(dataset)


@pytest.mark.asyncio
async def test_a_failed_listing_of_an_existing_dataset_leaves_it_as_it_was(
    dataset: pathlib.Path, ingester: AsyncS3Ingester, proxy: FaultProxy
) -> None:
    """A listing refused while the local state is being read ends the run with the
    listing's error; the files and the manifest are untouched, and the lock is free."""
    await ingester.fetch_data()
    before = read_manifest_at(dataset / STATE_DIR)
    proxy.respond(403, "AccessDenied", when=_is_listing)
    with pytest.raises(S3AccessError):
        await ingester.fetch_data()
    proxy.clear_rules()
    assert read_manifest_at(dataset / STATE_DIR) == before
    assert data_files(dataset) == sorted(key.removeprefix("data/") for key in FILES)
    assert not _locked(dataset / STATE_DIR / "lock")
    await ingester.fetch_data()
    assert fetched(proxy) == sorted(FILES)
