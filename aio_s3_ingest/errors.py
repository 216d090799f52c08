"""The exceptions ``aio_s3_ingest`` raises, all rooted in :class:`IngestError`.

::

    IngestError
     +-- ConfigError (also ValueError)              bad arguments, unknown profile
     +-- CredentialsError                           no credentials, or credentials refused
     +-- S3AccessError (also PermissionError)       access denied, missing bucket
     +-- EndpointError (also ConnectionError)       the S3 endpoint cannot be reached
     +-- NoMatchingFilesError (also FileNotFoundError)
     +-- TimestampToleranceError                    LastModified spread beyond tolerance
     +-- UnsafeKeyError                             a key would land outside or clash locally
     +-- ManifestError                              the S3 manifest is malformed or inconsistent
     +-- LockTimeoutError (also TimeoutError)       another run holds the dataset lock
     +-- TransferError                              one object could not be fetched
     |    +-- ObjectChangedError                    it kept changing while being fetched
     |    +-- IntegrityError                        the bytes received do not add up
     |    |    +-- ChecksumMismatchError            not S3's checksum, twice
     |    +-- ObjectArchivedError                   in Glacier: restore it before fetching
     +-- IngestFailed                               one or more transfers failed

Library errors are raised ``from`` the botocore/aiohttp/OS error behind them, so
the original stays reachable as ``__cause__`` without leaking into the API.

Messages name the ingester's keyword arguments (``workers_per_file must be at least 1``);
``parameters`` lists those a message names, so a front end with names of its own for
them (the command line's flags) can say those instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._report import IngestReport


class IngestError(Exception):
    """Base class of every error this library raises on purpose.

    ``parameters``: the keyword arguments the message names, spelled as it spells them.
    """

    parameters: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its class, message and attributes, not by calling ``__init__`` again
        (whose arguments differ from ``args``), so errors cross process boundaries
        (``multiprocessing``, a cluster's workers) intact."""
        return (_rebuilt, (type(self), self.args, dict(vars(self))))


def _rebuilt(cls: type[IngestError], args: tuple[Any, ...], state: dict[str, Any]) -> IngestError:
    error = cls.__new__(cls, *args)
    error.args = args
    vars(error).update(state)
    return error


class ConfigError(IngestError, ValueError):
    """An argument or setting is invalid; ``parameter`` names the keyword argument at
    fault, where there is one."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.parameters = () if parameter is None else (parameter,)


class CredentialsError(IngestError):
    """No AWS credentials were found, or S3 refused the ones given.

    Its message may suggest ``aws_profile_name`` or ``anonymous=True``.
    """

    parameters = ("aws_profile_name", "anonymous")


class S3AccessError(IngestError, PermissionError):
    """S3 refused access, or the bucket does not exist."""


class EndpointError(IngestError, ConnectionError):
    """The S3 endpoint could not be reached; the message says where the endpoint came
    from (``endpoint_url``, an environment variable, or AWS's default)."""

    parameters = ("endpoint_url",)


class NoMatchingFilesError(IngestError, FileNotFoundError):
    """No object under the prefix matches the patterns (and the S3 manifest)."""


class TimestampToleranceError(IngestError):
    """The selected objects were modified further apart than the tolerance allows.

    A wide spread usually means a dataset was partly rewritten, or two exports
    were mixed under one prefix.
    """


class UnsafeKeyError(IngestError):
    """One or more keys cannot be stored safely in the dataset directory."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"  {key!r}: {why}" for key, why in sorted(self.problems.items())]
        super().__init__(
            f"{len(lines)} key(s) cannot be stored safely, nothing was written:\n"
            + "\n".join(lines)
        )

    @property
    def keys(self) -> list[str]:
        """The offending keys, sorted."""
        return sorted(self.problems)


class ManifestError(IngestError):
    """The S3 manifest is malformed, or disagrees with the objects in S3."""


class LockTimeoutError(IngestError, TimeoutError):
    """Another run kept the dataset directory locked for longer than allowed."""


class TransferError(IngestError):
    """One object could not be fetched; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key!r}: {message}")


class ObjectChangedError(TransferError):
    """The object kept changing while it was being fetched."""


class IntegrityError(TransferError):
    """The bytes received do not match what S3 announced, or cannot be verified as asked."""


class ChecksumMismatchError(IntegrityError):
    """The bytes' checksum is not S3's: ``algorithm`` (S3's name), ``expected`` (S3's
    value, base64) and ``got`` (the local bytes'); ``part``, where set, is the number of
    the multipart upload's part whose own checksum differs. The object (or that part) is
    fetched once more before it is raised."""

    def __init__(
        self, key: str, algorithm: str, expected: str, got: str, *, part: int | None = None
    ) -> None:
        self.algorithm = algorithm
        self.expected = expected
        self.got = got
        self.part = part
        where = "" if part is None else f" in part {part}"
        super().__init__(key, f"{algorithm} checksum mismatch{where}: S3 has {expected}, got {got}")


class ObjectArchivedError(TransferError):
    """The object is archived (GLACIER, DEEP_ARCHIVE) and not restored, so no GET can read
    it; ``storage_class`` names its class. Refused in the plan, before any GET."""

    def __init__(self, key: str, storage_class: str) -> None:
        self.storage_class = storage_class
        super().__init__(
            key,
            f"is in storage class {storage_class} and not restored: restore it first "
            "(S3 RestoreObject), then run again",
        )


class IngestFailed(IngestError):
    """Some objects could not be fetched; the others are complete and recorded.

    ``failures`` maps each failed key to the exception that ended it; ``report`` is
    the run's :class:`~aio_s3_ingest.IngestReport`.
    """

    def __init__(
        self, failures: Mapping[str, BaseException], *, report: IngestReport | None = None
    ) -> None:
        self.failures = dict(failures)
        self.report = report
        super().__init__(_describe_failures(self.failures.items()))


def _describe_failures(failures: Iterable[tuple[str, BaseException]]) -> str:
    items = sorted(failures, key=lambda item: item[0])
    lines = [f"  {key!r}: {cause_text(exc)}" for key, exc in items]
    return f"{len(lines)} object(s) failed:\n" + "\n".join(lines)


def cause_text(exc: BaseException) -> str:
    """The exception's class and message, without the key it names."""
    if isinstance(exc, TransferError):
        text = str(exc).removeprefix(f"{exc.key!r}: ")
    else:
        text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
