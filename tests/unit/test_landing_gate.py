"""Files that finish while the listing is checked wait behind the landing gate, and the
queue the transfer takes files from while the listing runs (``_transfer.landing_gate``,
``_planning.FetchQueue``)."""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import threading

import pytest

from aio_s3_ingest._models import FileRecord, WantedFile
from aio_s3_ingest._planning import FetchQueue
from aio_s3_ingest._transfer.landing_gate import LandingGate
from tests._selection import wanted


def _record(key: str) -> FileRecord:
    return FileRecord(key=key, size=1, etag='"e"', last_modified="t", mtime_ns=1)


class Landed:
    """A stand-in for the rename: moves the temp file to ``root/relpath``."""

    def __init__(self, root: pathlib.Path, fail_on: str | None = None) -> None:
        self.root = root
        self.fail_on = fail_on
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, temp: pathlib.Path, relpath: str, record: FileRecord) -> None:
        if relpath == self.fail_on:
            raise OSError(f"cannot move {relpath}")
        temp.rename(self.root / relpath)
        with self._lock:
            self.paths.append(relpath)


def _temp(folder: pathlib.Path, name: str) -> pathlib.Path:
    path = folder / f"{name}.part"
    path.write_bytes(name.encode())
    return path


def test_an_open_gate_lands_at_once(tmp_path: pathlib.Path) -> None:
    landed = Landed(tmp_path)
    gate = LandingGate()
    gate.land(_temp(tmp_path, "a"), "a", _record("a"), landed)
    assert landed.paths == ["a"]
    assert (tmp_path / "a").read_bytes() == b"a"
    assert gate.landed_any


def test_a_closed_gate_keeps_files_until_it_opens(tmp_path: pathlib.Path) -> None:
    landed = Landed(tmp_path)
    gate = LandingGate(is_open=False)
    for name in "abc":
        gate.land(_temp(tmp_path, name), name, _record(name), landed)
    assert landed.paths == []
    assert not gate.landed_any
    assert not gate.open_some(landed, 2)
    assert landed.paths == ["a", "b"]
    assert not gate.is_open
    assert not gate.open_some(landed, 2)
    assert gate.open_some(landed, 2)
    assert landed.paths == ["a", "b", "c"]
    assert gate.is_open
    gate.land(_temp(tmp_path, "d"), "d", _record("d"), landed)
    assert landed.paths[-1] == "d"


def test_discard_removes_the_waiting_temp_files(tmp_path: pathlib.Path) -> None:
    gate = LandingGate(is_open=False)
    temps = [_temp(tmp_path, name) for name in "ab"]
    for temp, name in zip(temps, "ab", strict=True):
        gate.land(temp, name, _record(name), Landed(tmp_path))
    temps[0].unlink()  # already gone: not an error
    assert gate.discard() == 2
    assert not gate.landed_any
    assert not any(temp.exists() for temp in temps)


def test_a_file_that_fails_to_land_is_failed_and_the_rest_land(tmp_path: pathlib.Path) -> None:
    gate = LandingGate(is_open=False)
    temps = {name: _temp(tmp_path, name) for name in "abc"}
    for name, temp in temps.items():
        gate.land(temp, name, _record(name), Landed(tmp_path))
    landed = Landed(tmp_path, fail_on="b")
    assert not gate.open_some(landed, 10)
    assert gate.open_some(landed, 10)
    assert landed.paths == ["a", "c"]
    assert [(relpath, str(exc)) for relpath, _, exc in gate.failed] == [("b", "cannot move b")]
    assert not temps["b"].exists()  # its temp file is gone
    assert gate.landed_any  # a first run stopped now keeps its folders


def test_files_landing_from_threads_while_it_opens_land_once_each(tmp_path: pathlib.Path) -> None:
    landed = Landed(tmp_path)
    gate = LandingGate(is_open=False)
    names = [f"f{i}" for i in range(400)]
    temps = {name: _temp(tmp_path, name) for name in names}

    def finish(part: list[str]) -> None:
        for name in part:
            gate.land(temps[name], name, _record(name), landed)

    threads = [threading.Thread(target=finish, args=(names[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    while not gate.open_some(landed, 7):
        pass
    for thread in threads:
        thread.join()
    assert sorted(landed.paths) == sorted(names)
    assert all((tmp_path / name).exists() for name in names)


async def _taken(queue: FetchQueue, count: int) -> list[str]:
    got: list[str] = []
    async for item in queue.ready():
        got.append(item.relpath)
        if len(got) == count:
            break
    return got


def _archived(relpath: str) -> WantedFile:
    item = wanted(relpath)
    return dataclasses.replace(item, obj=dataclasses.replace(item.obj, storage_class="GLACIER"))


@pytest.mark.asyncio
async def test_the_queue_hands_files_over_as_they_are_planned() -> None:
    queue = FetchQueue()
    taker = asyncio.create_task(_taken(queue, 2))
    queue.add(wanted("a"))
    await asyncio.sleep(0)
    assert not taker.done()
    queue.add(wanted("b"))
    assert await taker == ["a", "b"]


@pytest.mark.asyncio
async def test_archived_files_wait_for_the_end_and_the_rest_go_largest_first() -> None:
    queue = FetchQueue()
    queue.add(_archived("cold"))
    queue.add(_archived("refused"))
    for name, size in [("s", 1), ("l", 9), ("m", 5)]:
        queue.add(wanted(name, size=size))
    queue.close(last=[wanted("rechecked", size=7)], refused={"data/refused"})
    assert [item.relpath async for item in queue.ready()] == ["l", "rechecked", "m", "s", "cold"]
    assert sorted(item.relpath for item in queue.items) == sorted(
        ["cold", "refused", "s", "l", "m", "rechecked"]
    )


@pytest.mark.asyncio
async def test_a_restarted_listing_queues_each_path_once() -> None:
    queue = FetchQueue()
    queue.add(wanted("a"))
    queue.add(wanted("b"))
    queue.restarted()
    for name in "abc":
        queue.add(wanted(name))
    queue.close()
    assert [item.relpath async for item in queue.ready()] == ["a", "b", "c"]
    assert [item.relpath for item in queue.items] == ["a", "b", "c"]
