"""IngestReport on its own: its paths in pathlib's order (the reports of real runs:
tests/server/test_report.py)."""

from __future__ import annotations

import pathlib

from aio_s3_ingest import IngestReport
from aio_s3_ingest._report import merge_reports


def test_paths_are_sorted_as_pathlib_sorts_them(tmp_path: pathlib.Path) -> None:
    """fetch_data()'s order is pathlib's (by segment), not plain string order."""
    names = ["a/b", "a-c", "a/b/c", "A", "a", "a b", "a.b/c", "z/0", "a/b-c"]
    report = IngestReport(tmp_path, tuple(names[:4]), tuple(names[4:]), (), 0, 0.0, 0, 0, 0)
    assert report.paths == sorted(tmp_path / name for name in names)
    assert report.paths.index(tmp_path / "a/b") < report.paths.index(tmp_path / "a-c")


def test_shard_reports_merge_into_one() -> None:
    """Lists joined and sorted, counts and checksums added, failures of objects and of a
    whole shard together; the wall time is the one given (the shards ran at once)."""
    root = pathlib.Path("/data/ds")
    first = IngestReport(
        root, ("b", "a"), ("k1",), ("gone",), 30, 2.0, 5, 1, 0,
        failed={"data/x": "TransferError: broke"}, verified={"CRC32": 2}, unverified=1,
        bytes_resumed=4, skipped={"data/dir/": "folder marker"},
    )  # fmt: skip
    second = IngestReport(
        root, ("c",), ("k0",), (), 10, 3.0, 2, 0, 1,
        verified={"CRC32": 1, "SHA256": 1}, skipped={"data/dir/": "folder marker"},
    )  # fmt: skip
    merged = merge_reports(
        [first, second], root, seconds=3.5, failed={"<shard 2 of 3>": "CredentialsError: no"}
    )
    assert merged.fetched == ("a", "b", "c")
    assert merged.kept == ("k0", "k1")
    assert merged.deleted == ("gone",)
    assert (merged.bytes_fetched, merged.bytes_resumed, merged.seconds) == (40, 4, 3.5)
    assert (merged.requests, merged.retries, merged.throttled) == (7, 1, 1)
    assert merged.verified == {"CRC32": 3, "SHA256": 1}
    assert merged.unverified == 1
    assert merged.failed == {
        "<shard 2 of 3>": "CredentialsError: no",
        "data/x": "TransferError: broke",
    }
    assert merged.skipped == {"data/dir/": "folder marker"}
    assert merged.paths[0] == root / "a"
    empty = merge_reports([], root, seconds=1.0, failed={})
    assert (empty.fetched, empty.bytes_fetched, empty.ok) == ((), 0, True)
