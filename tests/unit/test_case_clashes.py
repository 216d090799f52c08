"""Names that differ only by case: refused where the filesystem would merge them."""

from __future__ import annotations

import pathlib

import pytest

from aio_s3_ingest import UnsafeKeyError
from aio_s3_ingest._local.layout import DatasetLayout
from aio_s3_ingest._select import check_case_clashes


def wanted(*relpaths: str) -> list[tuple[str, str]]:
    return [(p, f"data/{p}") for p in relpaths]


def test_two_files_differing_only_by_case_clash() -> None:
    """``A.csv`` and ``a.csv`` would be one file: refused, naming the second key."""
    with pytest.raises(UnsafeKeyError) as info:
        check_case_clashes(wanted("A.csv", "a.csv", "b.csv"))
    assert info.value.keys == ["data/a.csv"]
    assert "differs only by case from 'data/A.csv'" in str(info.value)


def test_a_file_that_is_a_folder_when_case_is_ignored_clashes() -> None:
    """A file ``a`` and a key below ``A/`` cannot both exist where case is ignored."""
    with pytest.raises(UnsafeKeyError) as info:
        check_case_clashes(wanted("a", "A/b"))
    assert info.value.keys == ["data/A/b"]


def test_folders_differing_by_case_merge_without_a_clash() -> None:
    """``a/x`` and ``A/y`` land in one folder as two files: allowed."""
    check_case_clashes(wanted("a/x", "A/y", "b"))


def test_the_probe_sees_this_filesystem_as_case_sensitive(tmp_path: pathlib.Path) -> None:
    """On Linux's usual filesystems the probe says case matters, and leaves nothing behind."""
    layout = DatasetLayout(tmp_path / "ds")
    layout.create()
    assert layout.ignores_case() is False
    assert sorted(p.name for p in layout.state_dir.iterdir()) == ["tmp"]
