"""The S3 manifest (``_s3manifest``): where it is, how it is read, and what it lets through."""

from __future__ import annotations

import json

import pytest

from aio_s3_ingest import ManifestError
from aio_s3_ingest._s3manifest import (
    ManifestEntry,
    apply_s3_manifest,
    find_manifest,
    manifest_keys,
    parse_s3_manifest,
)
from tests._selection import obj

# --- reading and applying it -----------------------------------------------------------------


def manifest_body(*entries: object) -> bytes:
    """A Redshift-UNLOAD-style manifest document."""
    return json.dumps({"entries": list(entries)}).encode()


def test_parse_s3_manifest_reads_urls_and_lengths() -> None:
    """Each entry's URL splits into bucket and key; meta.content_length is optional."""
    body = manifest_body(
        {"url": "s3://bkt/data/a.csv", "meta": {"content_length": 12}},
        {"url": "s3://bkt/data/sub/b.csv", "mandatory": True},
        {"url": "s3://other/x", "meta": {}},
    )
    assert parse_s3_manifest("data/manifest", body) == [
        ManifestEntry(bucket="bkt", key="data/a.csv", content_length=12),
        ManifestEntry(bucket="bkt", key="data/sub/b.csv", content_length=None),
        ManifestEntry(bucket="other", key="x", content_length=None),
    ]


def test_parse_s3_manifest_accepts_no_entries() -> None:
    """An empty entries list is a valid (empty) manifest."""
    assert parse_s3_manifest("m", b'{"entries": []}') == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[]", "no 'entries' list"),
        (b'{"entries": {}}', "no 'entries' list"),
        (b'{"other": []}', "no 'entries' list"),
        (manifest_body("s3://bkt/a"), "entry 0"),
        (manifest_body({"url": "https://bkt/a"}), "'url'"),
        (manifest_body({"url": "s3://bucket-only"}), "'url'"),
        (manifest_body({"meta": {"content_length": 1}}), "'url'"),
        (manifest_body({"url": "s3://b/k", "meta": {"content_length": "12"}}), "content_length"),
        (manifest_body({"url": "s3://b/k", "meta": {"content_length": True}}), "content_length"),
        (manifest_body({"url": "s3://b/k"}, {"url": 5}), "entry 1"),
    ],
)
def test_parse_s3_manifest_rejects_malformed_documents(body: bytes, fragment: str) -> None:
    """A malformed manifest is a ManifestError naming the manifest key and what is wrong."""
    with pytest.raises(ManifestError) as info:
        parse_s3_manifest("data/manifest", body)
    assert "'data/manifest'" in str(info.value)
    assert fragment in str(info.value)


def test_apply_s3_manifest_keeps_only_listed_objects() -> None:
    """Only objects the manifest names remain candidates; sizes are checked when given."""
    listed = {o.key: o for o in (obj("data/a", size=3), obj("data/b", size=4), obj("data/c"))}
    entries = [ManifestEntry("bkt", "data/a", 3), ManifestEntry("bkt", "data/b", None)]
    chosen = apply_s3_manifest("data/manifest", entries, listed, "bkt")
    assert sorted(o.key for o in chosen) == ["data/a", "data/b"]


def test_apply_s3_manifest_dedups_repeated_entries() -> None:
    """An entry repeated in the manifest yields the object once."""
    listed = {"data/a": obj("data/a")}
    entries = [ManifestEntry("bkt", "data/a", None), ManifestEntry("bkt", "data/a", 1)]
    assert apply_s3_manifest("m", entries, listed, "bkt") == [listed["data/a"]]


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (ManifestEntry("bkt", "data/missing", None), "s3://bkt/data/missing is missing"),
        (ManifestEntry("bkt", "data/a", 99), "has 3 bytes, the manifest says 99"),
        (ManifestEntry("other", "data/a", None), "s3://other/data/a is in another bucket"),
    ],
)
def test_apply_s3_manifest_refuses_an_incomplete_dataset(
    entry: ManifestEntry, fragment: str
) -> None:
    """A missing object, a size mismatch or another bucket is a ManifestError naming the entry."""
    listed = {"data/a": obj("data/a", size=3)}
    with pytest.raises(ManifestError) as info:
        apply_s3_manifest("data/manifest", [entry], listed, "bkt")
    assert fragment in str(info.value)
    assert "'data/manifest'" in str(info.value)


def test_apply_s3_manifest_truncates_a_long_problem_list() -> None:
    """With many problems the message shows 20 and counts the rest."""
    entries = [ManifestEntry("bkt", f"data/m{i:02d}", None) for i in range(25)]
    with pytest.raises(ManifestError) as info:
        apply_s3_manifest("m", entries, {}, "bkt")
    message = str(info.value)
    assert "data/m19" in message
    assert "data/m20" not in message
    assert "and 5 more" in message


# --- where the S3 manifest is ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "name", "places"),
    [
        ("data/", "manifest", ("data/manifest",)),
        ("data/part_", "manifest", ("data/part_manifest", "data/part_/manifest")),
        ("test-prefix", "manifest", ("test-prefixmanifest", "test-prefix/manifest")),
        ("", "manifest", ("manifest",)),
        ("data/", None, ()),
    ],
)
def test_manifest_keys_name_prefix_first_then_folder(
    prefix: str, name: str | None, places: tuple[str, ...]
) -> None:
    """``<prefix><name>`` (UNLOAD's place) comes first; ``<prefix>/<name>`` when it may be a
    folder."""
    assert manifest_keys(prefix, name) == places


def test_find_manifest_prefers_the_unload_place_and_names_both() -> None:
    """With both places taken, ``<prefix><name>`` is read; both are manifests, never data."""
    listed = [obj("test-prefix/a"), obj("test-prefix/manifest"), obj("test-prefixmanifest")]
    chosen, places = find_manifest(listed, "test-prefix", "manifest")
    assert chosen is not None
    assert chosen.key == "test-prefixmanifest"
    assert sorted(o.key for o in places) == ["test-prefix/manifest", "test-prefixmanifest"]
    chosen, places = find_manifest(listed[:2], "test-prefix", "manifest")
    assert chosen is not None
    assert chosen.key == "test-prefix/manifest"
    assert find_manifest(listed[:1], "test-prefix", "manifest") == (None, ())
