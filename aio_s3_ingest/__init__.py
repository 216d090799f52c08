"""Bring a dataset from S3 to local disk, asynchronously, incrementally and atomically."""

from ._ingest import AsyncS3Ingester
from ._log import logger
from ._progress import (
    BytesReceived,
    FileFinished,
    FileResumed,
    FileStarted,
    ProgressCallback,
    ProgressEvent,
    RetryScheduled,
    RunPlanned,
    Throttled,
)
from ._report import IngestReport
from ._stream import DatasetFile
from ._sync import S3Ingester
from ._version import __version__
from .errors import (
    ChecksumMismatchError,
    ConfigError,
    CredentialsError,
    EndpointError,
    IngestError,
    IngestFailed,
    IntegrityError,
    LockTimeoutError,
    ManifestError,
    NoMatchingFilesError,
    ObjectArchivedError,
    ObjectChangedError,
    S3AccessError,
    TimestampToleranceError,
    TransferError,
    UnsafeKeyError,
)

__all__ = [
    "AsyncS3Ingester",
    "BytesReceived",
    "ChecksumMismatchError",
    "ConfigError",
    "CredentialsError",
    "DatasetFile",
    "EndpointError",
    "FileFinished",
    "FileResumed",
    "FileStarted",
    "IngestError",
    "IngestFailed",
    "IngestReport",
    "IntegrityError",
    "LockTimeoutError",
    "ManifestError",
    "NoMatchingFilesError",
    "ObjectArchivedError",
    "ObjectChangedError",
    "ProgressCallback",
    "ProgressEvent",
    "RetryScheduled",
    "RunPlanned",
    "S3AccessError",
    "S3Ingester",
    "Throttled",
    "TimestampToleranceError",
    "TransferError",
    "UnsafeKeyError",
    "__version__",
    "logger",
]

# Public names say where users import them from (reprs, tracebacks, docs, pickles).
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) or callable(getattr(_value, "__code__", None)):
        _value.__module__ = __name__
del _name, _value
