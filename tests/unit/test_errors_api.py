"""The public surface: exports, the error tree, the error for an endpoint nothing listens on,
and the typed API file (against a real endpoint: tests/server/test_errors_api.py)."""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import pathlib
import pickle

import anyio
import botocore.exceptions
import pytest

import aio_s3_ingest
from aio_s3_ingest import (
    AsyncS3Ingester,
    EndpointError,
    IngestError,
    IngestFailed,
    TransferError,
    UnsafeKeyError,
    errors,
)
from tests._helpers import load_typing_api

# --- exports ---------------------------------------------------------------------------------


def test_all_is_sorted_and_unique() -> None:
    """``__all__`` is sorted and has no duplicates."""
    names = aio_s3_ingest.__all__
    assert names == sorted(names)
    assert len(set(names)) == len(names)


def test_all_lists_every_public_name_and_nothing_else() -> None:
    """The package's public attributes, modules aside, are exactly ``__all__``."""
    public = {
        name
        for name, value in vars(aio_s3_ingest).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(aio_s3_ingest.__all__) - {"__version__"}


def test_public_classes_say_they_live_in_the_package() -> None:
    """Exported classes report ``aio_s3_ingest`` as their module, as users import them."""
    classes = [getattr(aio_s3_ingest, name) for name in aio_s3_ingest.__all__]
    for cls in (value for value in classes if isinstance(value, type)):
        assert cls.__module__ == "aio_s3_ingest", cls
    assert repr(AsyncS3Ingester).startswith("<class 'aio_s3_ingest.AsyncS3Ingester'")
    assert repr(TransferError("k", "why")) == "TransferError(\"'k': why\")"


def test_every_exported_name_is_importable() -> None:
    """Every name in ``__all__`` can be imported from the package."""
    for name in aio_s3_ingest.__all__:
        exec(f"from aio_s3_ingest import {name}", {})


def test_every_exported_class_and_function_has_a_docstring() -> None:
    """Every exported class, and each of its public methods, has its own docstring."""
    missing = []
    for name in aio_s3_ingest.__all__:
        value = getattr(aio_s3_ingest, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if not (value.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(value) and not issubclass(value, BaseException):
            for attr, member in vars(value).items():
                if (
                    not attr.startswith("_")
                    and callable(member)
                    and not (member.__doc__ or "").strip()
                ):
                    missing.append(f"{name}.{attr}")
    assert missing == []


def test_module_docstrings() -> None:
    """The package and its errors module document themselves."""
    assert (aio_s3_ingest.__doc__ or "").strip()
    assert "IngestError" in (errors.__doc__ or "")


def test_version_comes_from_package_metadata() -> None:
    """``__version__`` is the installed distribution's version."""
    assert aio_s3_ingest.__version__ == importlib.metadata.version("aio-s3-ingest")


def test_logger_is_the_package_logger() -> None:
    """``logger`` is the standard logger named "aio_s3_ingest" and has no handlers of its own."""
    assert aio_s3_ingest.logger is logging.getLogger("aio_s3_ingest")
    assert aio_s3_ingest.logger.handlers == []


# --- the error tree --------------------------------------------------------------------------


def _error_classes() -> list[type[BaseException]]:
    return [
        value
        for value in vars(errors).values()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ in (errors.__name__, "aio_s3_ingest")
    ]


def test_every_error_derives_from_ingest_error_and_is_exported() -> None:
    """Each exception in ``aio_s3_ingest.errors`` is an IngestError exported in ``__all__``."""
    classes = _error_classes()
    assert len(classes) >= 10
    for cls in classes:
        assert issubclass(cls, IngestError), cls
        assert cls.__name__ in aio_s3_ingest.__all__, cls
        assert getattr(aio_s3_ingest, cls.__name__) is cls


def test_errors_docstring_draws_every_class() -> None:
    """The tree drawn in the errors module docstring names every class defined there."""
    for cls in _error_classes():
        assert cls.__name__ in (errors.__doc__ or ""), cls


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.NoMatchingFilesError, FileNotFoundError),
        (errors.ConfigError, ValueError),
        (errors.S3AccessError, PermissionError),
        (errors.EndpointError, ConnectionError),
        (errors.LockTimeoutError, TimeoutError),
    ],
)
def test_errors_are_also_the_matching_builtin(cls: type, builtin: type) -> None:
    """Callers catching the built-in exception the reference raised still catch ours."""
    assert issubclass(cls, builtin)


def test_transfer_error_family() -> None:
    """ObjectChangedError and IntegrityError are TransferErrors, which carry the key."""
    assert issubclass(errors.ObjectChangedError, TransferError)
    assert issubclass(errors.IntegrityError, TransferError)
    exc = errors.IntegrityError("data/a.csv", "short")
    assert exc.key == "data/a.csv"
    assert str(exc) == "'data/a.csv': short"


def test_ingest_failed_maps_keys_to_exceptions() -> None:
    """IngestFailed.failures is a dict from key to the exception that ended it, listed in str()."""
    failures: dict[str, BaseException] = {
        "data/b": TransferError("data/b", "the object no longer exists"),
        "data/a": OSError("disk full"),
    }
    exc = IngestFailed(failures)
    assert exc.failures == failures
    assert exc.failures is not failures  # a copy: later changes to the argument do not leak in
    text = str(exc)
    assert text.startswith("2 object(s) failed")
    assert text.index("'data/a'") < text.index("'data/b'")
    assert "TransferError: the object no longer exists" in text
    assert "OSError: disk full" in text


def test_unsafe_key_error_keys_and_problems() -> None:
    """UnsafeKeyError.keys lists the offending keys sorted; .problems says why for each."""
    exc = UnsafeKeyError({"z/..": "contains a '..' segment", "a\0": "contains a NUL character"})
    assert exc.keys == ["a\0", "z/.."]
    assert exc.problems["z/.."] == "contains a '..' segment"
    assert "'a\\x00'" in str(exc)


def _one_of_each() -> list[IngestError]:
    return [
        errors.ConfigError("workers_per_file must be at least 1", parameter="workers_per_file"),
        IngestError("any"),
        errors.CredentialsError("no credentials"),
        errors.S3AccessError("access denied"),
        errors.EndpointError("nothing listens"),
        errors.NoMatchingFilesError("no match"),
        errors.TimestampToleranceError("spread"),
        UnsafeKeyError({"a/..": "contains a '..' segment"}),
        errors.ManifestError("malformed"),
        errors.LockTimeoutError("held"),
        TransferError("data/a", "gone"),
        errors.ObjectChangedError("data/a", "changed"),
        errors.IntegrityError("data/a", "short"),
        errors.ChecksumMismatchError("data/a", "CRC32", "AAAAAA==", "AAAAAQ==", part=3),
        errors.ObjectArchivedError("data/a", "GLACIER"),
        IngestFailed({"data/a": TransferError("data/a", "gone")}),
    ]


def test_every_error_survives_pickling() -> None:
    """Errors cross process boundaries (multiprocessing, a cluster's workers) with their
    class, message and attributes."""
    examples = _one_of_each()
    assert {type(error) for error in examples} == set(_error_classes())
    for error in examples:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.args == error.args
        assert copy.parameters == error.parameters
        for name, value in vars(error).items():
            if name != "failures":
                assert getattr(copy, name) == value, (error, name)
    failed = pickle.loads(pickle.dumps(examples[-1]))
    assert isinstance(failed, IngestFailed)
    assert str(failed.failures["data/a"]) == "'data/a': gone"


# --- an endpoint nothing listens on ----------------------------------------------------------


@pytest.mark.asyncio
async def test_unreachable_endpoint_is_an_endpoint_error(
    closed_port: int, dest: pathlib.Path
) -> None:
    """A closed port raises EndpointError (a ConnectionError) from the connection's error
    (botocore's, or the direct path's), quickly."""
    ingester = AsyncS3Ingester(
        "bkt",
        "data/",
        dataset_id="ds",
        destination_directory=dest,
        endpoint_url=f"http://127.0.0.1:{closed_port}",
        connect_timeout=1,
        max_attempts=1,
    )
    with pytest.raises(ConnectionError) as info:
        await ingester.fetch_data()
    assert isinstance(info.value, EndpointError)
    assert f"127.0.0.1:{closed_port}" in str(info.value)
    cause = info.value.__cause__
    assert isinstance(cause, (botocore.exceptions.BotoCoreError, ConnectionRefusedError, OSError))
    assert not await anyio.Path(dest).exists()


# --- the typed API file ----------------------------------------------------------------------


def test_typing_api_imports_without_side_effects(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/typing/api.py only defines functions: importing it creates nothing and runs nothing."""
    monkeypatch.chdir(tmp_path)
    module = load_typing_api()
    assert list(tmp_path.iterdir()) == []
    public = [name for name in vars(module) if not name.startswith("_")]
    assert "fetch_with_context_manager" in public
