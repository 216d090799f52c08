"""Selection (``_select``): keys whose local paths are unsafe are refused, all of them at once."""

from __future__ import annotations

import pytest

from aio_s3_ingest import UnsafeKeyError
from aio_s3_ingest._models import WantedFile
from tests._selection import check_safe, obj, wanted


@pytest.mark.parametrize(
    ("relpath", "reason"),
    [
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("..", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a\0b", "NUL"),
        ("a//b", "empty"),
        ("./a", "'.'"),
        ("a/./b", "'.'"),
        ("a/", "empty"),
        ("", "empty"),
        ("x" * 256, "255 bytes"),
        ("sub/" + "é" * 128, "255 bytes"),
        (".aio-s3-ingest/manifest.json", "reserved"),
        (".aio-s3-ingest", "reserved"),
    ],
)
def test_check_safe_refuses_unsafe_paths(relpath: str, reason: str) -> None:
    """Each kind of unsafe relative path is refused, with the key and the reason in the error."""
    key = f"data/{relpath}"
    with pytest.raises(UnsafeKeyError) as info:
        check_safe([wanted("ok.csv"), WantedFile(relpath=relpath, obj=obj(key))])
    assert info.value.keys == [key]
    assert reason in info.value.problems[key]
    assert repr(key) in str(info.value)
    assert "nothing was written" in str(info.value)


@pytest.mark.parametrize(
    "relpath",
    [
        "x" * 255,
        "é" * 127 + "x",
        "sub/.aio-s3-ingest/x",
        ".hidden",
        "a..b/c...d",
        "with space/and%20escapes",
        "ünïcødé/ファイル.csv",
    ],
)
def test_check_safe_accepts_unusual_but_safe_paths(relpath: str) -> None:
    """Long-but-legal names, dots inside names, and the reserved name below the root are fine."""
    check_safe([wanted(relpath)])


def test_check_safe_refuses_a_path_that_is_both_file_and_folder() -> None:
    """``a`` and ``a/b`` cannot both exist on disk: the key below the file is refused."""
    items = [
        wanted("a", key="data/a"),
        wanted("a/b", key="data/a/b"),
        wanted("c/d/e", key="data/c/d/e"),
    ]
    with pytest.raises(UnsafeKeyError) as info:
        check_safe([*items, wanted("c/d", key="data/c/d")])
    assert set(info.value.keys) == {"data/a/b", "data/c/d/e"}
    assert "'data/a'" in info.value.problems["data/a/b"]
    assert "'data/c/d'" in info.value.problems["data/c/d/e"]


def test_check_safe_lists_every_problem_at_once() -> None:
    """All unsafe keys are reported together, sorted, not just the first one found."""
    items = [wanted("../x", key="k1"), wanted("/abs", key="k2"), wanted("fine", key="k3")]
    with pytest.raises(UnsafeKeyError) as info:
        check_safe(items)
    assert info.value.keys == ["k1", "k2"]
    assert str(info.value).startswith("2 key(s)")
