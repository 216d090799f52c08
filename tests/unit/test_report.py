"""IngestReport on its own: its paths in pathlib's order (the reports of real runs:
tests/server/test_report.py)."""

from __future__ import annotations

import pathlib

from aio_s3_ingest import IngestReport


def test_paths_are_sorted_as_pathlib_sorts_them(tmp_path: pathlib.Path) -> None:
    """fetch_data()'s order is pathlib's (by segment), not plain string order."""
    names = ["a/b", "a-c", "a/b/c", "A", "a", "a b", "a.b/c", "z/0", "a/b-c"]
    report = IngestReport(tmp_path, tuple(names[:4]), tuple(names[4:]), (), 0, 0.0, 0, 0, 0)
    assert report.paths == sorted(tmp_path / name for name in names)
    assert report.paths.index(tmp_path / "a/b") < report.paths.index(tmp_path / "a-c")
