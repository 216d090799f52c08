"""The constructor: the reference's signature and defaults, and validation before any work."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import math
import pathlib
from typing import Any

import pytest

from aio_s3_ingest import AsyncS3Ingester, ConfigError, IngestError, S3Ingester
from aio_s3_ingest._config import IngestConfig

INGESTERS = [AsyncS3Ingester, S3Ingester]

# The thread-based S3Ingester's constructor, in order, with its defaults.
REFERENCE_PARAMETERS: list[tuple[str, Any]] = [
    ("s3_bucket_name", inspect.Parameter.empty),
    ("s3_key_prefix", inspect.Parameter.empty),
    ("file_pattern", "*"),
    ("dataset_id", None),
    ("destination_directory", "data/s3-ingester"),
    ("aws_profile_name", None),
    ("aws_region_name", "eu-west-1"),
    ("max_concurrent_files", 64),
    ("workers_per_file", 1),
    ("manifest_file_name", "manifest"),
    ("s3_timestamp_tolerance", -1),
]


@pytest.mark.parametrize("cls", INGESTERS)
def test_positional_parameters_match_the_reference(cls: type) -> None:
    """Both ingesters take the reference's positional parameters, order and defaults."""
    params = list(inspect.signature(cls).parameters.values())
    positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert [(p.name, p.default) for p in positional] == REFERENCE_PARAMETERS
    assert params[: len(positional)] == positional


@pytest.mark.parametrize("cls", INGESTERS)
def test_added_parameters_are_keyword_only(cls: type) -> None:
    """Every parameter the reference lacks is keyword-only, with a default."""
    params = list(inspect.signature(cls).parameters.values())[len(REFERENCE_PARAMETERS) :]
    assert params, "expected keyword-only options beyond the reference's"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert all(p.default is not inspect.Parameter.empty for p in params)
    assert {"endpoint_url", "anonymous"} <= {p.name for p in params}


@pytest.mark.parametrize("cls", INGESTERS)
def test_every_parameter_is_a_config_field_with_the_same_default(cls: type) -> None:
    """The constructor and :class:`IngestConfig` stay in step: one field per parameter,
    the same default (after the reference's pattern and path forms are normalised)."""
    params = inspect.signature(cls).parameters
    fields = {f.name: f for f in dataclasses.fields(IngestConfig)}
    renamed = {"file_pattern": "file_patterns"}
    assert sorted(renamed.get(name, name) for name in params) == sorted(fields)
    normalised = {"file_pattern": ("*",), "destination_directory": pathlib.Path("data/s3-ingester")}
    for name, param in params.items():
        field = fields[renamed.get(name, name)]
        if field.default is dataclasses.MISSING:
            assert param.default in (inspect.Parameter.empty, None), name
        else:
            assert normalised.get(name, param.default) == field.default, name


@pytest.mark.parametrize("cls", INGESTERS)
def test_fetch_data_signature_matches_the_reference(cls: type) -> None:
    """``fetch_data(force_recompute=False)`` as in the reference; options added since are
    keyword-only."""
    params = list(inspect.signature(cls.fetch_data).parameters.values())
    positional = [p for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert [(p.name, p.default) for p in positional] == [
        ("self", inspect.Parameter.empty),
        ("force_recompute", False),
    ]
    added = [(p.name, p.default) for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert added == [("verify_local", False)]


@pytest.mark.parametrize("cls", INGESTERS)
def test_positional_call_in_reference_order(cls: type, tmp_path: pathlib.Path) -> None:
    """A call using all eleven positional arguments lands each in the right place."""
    ingester = cls("bkt", "data/", ["*.csv"], "ds", tmp_path, None, "us-east-2", 8, 2, "m.json", 3)
    c = ingester.config
    assert (c.s3_bucket_name, c.s3_key_prefix, c.file_patterns) == ("bkt", "data/", ("*.csv",))
    assert (c.dataset_id, c.destination_directory, c.aws_profile_name) == ("ds", tmp_path, None)
    assert (c.aws_region_name, c.max_concurrent_files, c.workers_per_file) == ("us-east-2", 8, 2)
    assert (c.manifest_file_name, c.s3_timestamp_tolerance) == ("m.json", 3)
    assert ingester.dataset_directory == tmp_path / "ds"


def test_extra_positional_argument_is_refused() -> None:
    """A twelfth positional argument is a TypeError: new options cannot be passed by position."""
    with pytest.raises(TypeError):
        AsyncS3Ingester("bkt", "p/", "*", None, "d", None, "eu-west-1", 1, 1, None, -1, "http://x")  # type: ignore[misc]


@pytest.mark.parametrize("cls", INGESTERS)
def test_default_dataset_id_is_md5_of_bucket_prefix_region(cls: type) -> None:
    """Without dataset_id the folder is the hex MD5 of bucket + prefix + region, as before."""
    expected = hashlib.md5(b"my-bucketsome/prefix/us-west-2").hexdigest()
    ingester = cls("my-bucket", "some/prefix/", aws_region_name="us-west-2")
    assert ingester.dataset_directory == pathlib.Path("data/s3-ingester") / expected
    default_region = hashlib.md5(b"my-bucketsome/prefix/eu-west-1").hexdigest()
    assert cls("my-bucket", "some/prefix/").dataset_directory.name == default_region


def test_explicit_dataset_id_and_destination(tmp_path: pathlib.Path) -> None:
    """dataset_id and destination_directory (str or Path) set the dataset directory."""
    assert AsyncS3Ingester(
        "b", "p", dataset_id="x", destination_directory=str(tmp_path)
    ).dataset_directory == (tmp_path / "x")


def test_construction_touches_neither_disk_nor_network(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building an ingester creates no folder and needs no credentials or endpoint."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    AsyncS3Ingester("bkt", "data/", endpoint_url="http://127.0.0.1:9")
    S3Ingester("bkt", "data/", destination_directory="elsewhere")
    assert list(tmp_path.iterdir()) == []


def test_config_is_immutable() -> None:
    """The validated configuration cannot be changed after construction."""
    ingester = AsyncS3Ingester("bkt", "data/")
    with pytest.raises(AttributeError):
        ingester.config.max_concurrent_files = 0  # type: ignore[misc]


def test_file_pattern_list_is_copied() -> None:
    """Mutating the list passed as file_pattern later does not change the ingester."""
    patterns = ["*.csv"]
    ingester = AsyncS3Ingester("bkt", "data/", patterns)
    patterns.append("*.json")
    assert ingester.config.file_patterns == ("*.csv",)


BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"max_concurrent_files": 0}, "max_concurrent_files"),
    ({"max_concurrent_files": -3}, "max_concurrent_files"),
    ({"max_concurrent_files": 2.0}, "max_concurrent_files"),
    ({"max_concurrent_files": "4"}, "max_concurrent_files"),
    ({"max_concurrent_files": True}, "max_concurrent_files"),
    ({"workers_per_file": 0}, "workers_per_file"),
    ({"verify": "sometimes"}, "verify"),
    ({"verify": True}, "verify"),
    ({"verify": None}, "verify"),
    ({"workers_per_file": None}, "workers_per_file"),
    ({"s3_bucket_name": ""}, "s3_bucket_name"),
    ({"s3_bucket_name": "   "}, "s3_bucket_name"),
    ({"s3_bucket_name": "bucket/prefix"}, "s3_bucket_name"),
    ({"s3_bucket_name": "my bucket"}, "s3_bucket_name"),
    ({"s3_bucket_name": None}, "s3_bucket_name"),
    ({"s3_key_prefix": None}, "s3_key_prefix"),
    ({"dataset_id": ".."}, "dataset_id"),
    ({"dataset_id": "."}, "dataset_id"),
    ({"dataset_id": ""}, "dataset_id"),
    ({"dataset_id": "a/b"}, "dataset_id"),
    ({"dataset_id": "a\\b"}, "dataset_id"),
    ({"dataset_id": "a\0b"}, "dataset_id"),
    ({"dataset_id": 7}, "dataset_id"),
    ({"file_pattern": []}, "file_pattern"),
    ({"file_pattern": ()}, "file_pattern"),
    ({"file_pattern": [""]}, "file_pattern"),
    ({"file_pattern": ["*.csv", 3]}, "file_pattern"),
    ({"file_pattern": 3}, "file_pattern"),
    ({"file_pattern": None}, "file_pattern"),
    ({"s3_timestamp_tolerance": -2}, "s3_timestamp_tolerance"),
    ({"s3_timestamp_tolerance": -0.5}, "s3_timestamp_tolerance"),
    ({"s3_timestamp_tolerance": math.nan}, "s3_timestamp_tolerance"),
    ({"s3_timestamp_tolerance": "1"}, "s3_timestamp_tolerance"),
    ({"s3_timestamp_tolerance": True}, "s3_timestamp_tolerance"),
    ({"manifest_file_name": ""}, "manifest_file_name"),
    ({"manifest_file_name": "sub/manifest"}, "manifest_file_name"),
    ({"manifest_file_name": "a\0b"}, "manifest_file_name"),
    ({"manifest_file_name": 1}, "manifest_file_name"),
    ({"aws_region_name": None}, "aws_region_name"),
    ({"aws_region_name": 5, "dataset_id": "ds"}, "aws_region_name"),
    ({"part_size": 0}, "part_size"),
    ({"chunk_size": -1}, "chunk_size"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"connect_timeout": 0}, "connect_timeout"),
    ({"read_timeout": -1.0}, "read_timeout"),
    ({"read_timeout": math.nan}, "read_timeout"),
    ({"lock_timeout": -1}, "lock_timeout"),
    ({"endpoint_url": "not a url"}, "endpoint_url"),
    ({"endpoint_url": "ftp://127.0.0.1:9"}, "endpoint_url"),
    ({"endpoint_url": "http://"}, "endpoint_url"),
    ({"endpoint_url": 9000}, "endpoint_url"),
    ({"progress": "print"}, "progress"),
]


@pytest.mark.parametrize("cls", INGESTERS)
@pytest.mark.parametrize(("options", "name"), BAD_OPTIONS, ids=repr)
def test_invalid_option_is_a_config_error_naming_it(
    cls: type, options: dict[str, Any], name: str
) -> None:
    """An invalid argument raises ConfigError (also ValueError) at construction, naming it."""
    arguments: dict[str, Any] = {"s3_bucket_name": "bkt", "s3_key_prefix": "data/", **options}
    with pytest.raises(ConfigError) as info:
        cls(**arguments)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, IngestError)
    assert name in str(info.value)


@pytest.mark.parametrize(
    "options",
    [
        {"s3_timestamp_tolerance": -1},
        {"s3_timestamp_tolerance": 0},
        {"s3_timestamp_tolerance": 0.25},
        {"manifest_file_name": None},
        {"manifest_file_name": "manifest.json"},
        {"file_pattern": ("*.csv", "*.json")},
        {"dataset_id": "my.dataset-2024_v1"},
        {"s3_key_prefix": ""},
        {"lock_timeout": 0},
        {"max_concurrent_files": 1, "workers_per_file": 1},
        {"anonymous": True, "endpoint_url": "http://127.0.0.1:1"},
        {"endpoint_url": "https://s3.eu-west-1.amazonaws.com"},
        {"progress": print},
    ],
    ids=repr,
)
def test_valid_edge_options_are_accepted(options: dict[str, Any]) -> None:
    """Boundary values that are valid do not raise."""
    AsyncS3Ingester(**{"s3_bucket_name": "bkt", "s3_key_prefix": "data/", **options})


def test_repr_names_source_and_destination(tmp_path: pathlib.Path) -> None:
    """repr shows the S3 location and the dataset directory."""
    text = repr(S3Ingester("bkt", "data/", dataset_id="ds", destination_directory=tmp_path))
    assert text.startswith("S3Ingester(")
    assert "s3://bkt/data/" in text
    assert str(tmp_path / "ds") in text
