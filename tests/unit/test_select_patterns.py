"""Selection (``_select``): which objects file patterns and folder markers let through."""

from __future__ import annotations

import fnmatch

import pytest

from aio_s3_ingest import NoMatchingFilesError
from aio_s3_ingest._select import Patterns, matches, require_matches
from tests._selection import obj, selected, wanted


@pytest.mark.parametrize(
    ("relpath", "patterns", "expected"),
    [
        ("a.csv", ["*.csv"], True),
        ("sub/a.csv", ["*.csv"], True),
        ("sub/a.csv", ["a.csv"], True),
        ("sub/a.csv", ["sub/*.csv"], True),
        ("a.csv", ["sub/*.csv"], False),
        ("other/a.csv", ["sub/*.csv"], False),
        ("sub/a.json", ["*.csv"], False),
        ("sub/a.json", ["*.csv", "*.json"], True),
        ("a.CSV", ["*.csv"], False),
        ("file_7.csv", ["file_?.csv"], True),
        ("x/file_7.csv", ["[fg]ile_*"], True),
    ],
)
def test_matches(relpath: str, patterns: list[str], expected: bool) -> None:
    """fnmatch on the relative path; a pattern without '/' also tries the basename; any wins."""
    assert matches(relpath, patterns) is expected


def test_compiled_patterns_agree_with_fnmatch_case_by_case() -> None:
    """One expression for all patterns decides as fnmatch on each pattern would."""
    patterns_list = [[], ["*"], ["*.csv", "sub/*"], ["a|b", "(x)", "[!a]*"], ["x\\y", "*/*/*"]]
    paths = ["a.csv", "sub/a.csv", "sub/x", "a|b", "(x)", "b", "x\\y", "d/e/f", "", "a/b\nc"]
    for patterns in patterns_list:
        compiled = Patterns(patterns)
        for path in paths:
            name = path.rsplit("/", 1)[-1]
            expected = any(
                fnmatch.fnmatchcase(path, pattern)
                or ("/" not in pattern and fnmatch.fnmatchcase(name, pattern))
                for pattern in patterns
            )
            assert compiled(path) is expected, (patterns, path)


def test_select_skips_folder_markers_and_sorts() -> None:
    """Keys ending in '/' are folder markers and never selected; the result is sorted by path."""
    objects = [
        obj("data/z.csv"),
        obj("data/sub/"),
        obj("data/a.csv"),
        obj("data/"),
        obj("data/sub/b.csv"),
    ]
    chosen, _ = selected(objects, "data/", ["*"])
    assert [w.relpath for w in chosen] == ["a.csv", "sub/b.csv", "z.csv"]
    assert [w.obj.key for w in chosen] == ["data/a.csv", "data/sub/b.csv", "data/z.csv"]


def test_select_applies_the_patterns_to_relative_paths() -> None:
    """A '/'-pattern is matched against the path relative to the prefix, not the full key."""
    objects = [obj("data/sub/a.csv"), obj("data/a.csv"), obj("data/sub/b.json")]
    assert [w.relpath for w in selected(objects, "data/", ["sub/*.csv"])[0]] == ["sub/a.csv"]
    assert selected(objects, "data/", ["data/sub/*.csv"])[0] == []


def test_require_matches_raises_a_file_not_found_error_naming_the_prefix() -> None:
    """No match is a NoMatchingFilesError, also a FileNotFoundError, naming where and what."""
    with pytest.raises(FileNotFoundError) as info:
        require_matches([], "s3://bkt/data/", ["*.csv"])
    assert isinstance(info.value, NoMatchingFilesError)
    assert "s3://bkt/data/" in str(info.value)
    assert "*.csv" in str(info.value)
    require_matches([wanted("a.csv")], "s3://bkt/data/", ["*.csv"])


def test_skipped_folder_markers_are_only_those_holding_data() -> None:
    """A key ending in '/' with bytes is reported (when it matches); an empty one is silent."""
    objects = [obj("data/sub/", size=0), obj("data/full/", size=7), obj("data/x.csv/", size=3)]
    skipped = selected(objects, "data", ["*"])[1].skipped
    assert sorted(skipped) == ["data/full/", "data/x.csv/"]
    assert "7 byte(s)" in skipped["data/full/"]
    assert list(selected(objects, "data", ["*.csv"])[1].skipped) == ["data/x.csv/"]
