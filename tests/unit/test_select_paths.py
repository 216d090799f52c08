"""Selection (``_select``): the local path each key lands at, relative to the prefix."""

from __future__ import annotations

import pytest

from aio_s3_ingest import UnsafeKeyError
from aio_s3_ingest._select import base_of, relative_path
from tests._selection import check_safe, obj, selected


@pytest.mark.parametrize(
    ("prefix", "base"),
    [
        ("data/", "data/"),
        ("data/file_", "data/"),
        ("a/b/c", "a/b/"),
        ("data", ""),
        ("", ""),
    ],
)
def test_base_of_is_the_folder_of_the_prefix(prefix: str, base: str) -> None:
    """A prefix ending inside a name maps relative to the folder that contains it."""
    assert base_of(prefix) == base


@pytest.mark.parametrize(
    ("key", "prefix", "relpath"),
    [
        ("data/sub/a.csv", "data/", "sub/a.csv"),
        ("data/file_1.csv", "data/file_", "file_1.csv"),
        ("a.csv", "", "a.csv"),
        # a prefix without its trailing '/' names a folder for the keys that continue it so
        ("test-prefix/test-file1.csv", "test-prefix", "test-file1.csv"),
        ("test-prefix/nested/test-file2.csv", "test-prefix", "nested/test-file2.csv"),
        ("kaggle/a/indian-food-101/indian_food.csv", "kaggle/a/indian-food-101", "indian_food.csv"),
        # ... and keys that continue it inside a name map below the prefix's folder
        ("data2/y", "data", "data2/y"),
        ("data", "data", "data"),
        ("exports/sales-2026.csv", "exports/sales", "sales-2026.csv"),
    ],
)
def test_relative_path_follows_the_prefix_rule(key: str, prefix: str, relpath: str) -> None:
    """``prefix/`` is stripped from keys that continue the prefix with '/', else its folder."""
    assert relative_path(key, prefix) == relpath


def test_select_maps_each_key_by_its_own_rule_under_one_prefix() -> None:
    """Prefix ``data``: ``data/x`` lands at ``x``, ``data2/y`` at ``data2/y``."""
    chosen, _ = selected([obj("data/x"), obj("data2/y"), obj("data/sub/z")], "data")
    assert [(w.relpath, w.obj.key) for w in chosen] == [
        ("data2/y", "data2/y"),
        ("sub/z", "data/sub/z"),
        ("x", "data/x"),
    ]


def test_check_safe_refuses_two_keys_mapping_to_one_path_naming_both() -> None:
    """Prefix ``data``: ``data/data2/y`` and ``data2/y`` both map to ``data2/y``: both refused."""
    chosen, _ = selected([obj("data/data2/y"), obj("data2/y"), obj("data/ok")], "data")
    with pytest.raises(UnsafeKeyError) as info:
        check_safe(chosen)
    assert info.value.keys == ["data/data2/y", "data2/y"]
    assert "'data2/y'" in info.value.problems["data/data2/y"]
    assert "'data/data2/y'" in info.value.problems["data2/y"]
    assert "same local path" in str(info.value)
