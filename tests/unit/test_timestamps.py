"""The fast timestamp parser gives exactly what botocore's own parser gives."""

from __future__ import annotations

import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from aio_s3_ingest._s3.client import parse_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-24T21:27:05.000Z",
        "2026-11-24T21:27:05Z",
        "2026-11-24T21:27:05.123456+02:00",
        "1999-12-31T23:59:59.999Z",
        "Tue, 24 Nov 2026 21:27:05 GMT",
        "2026-11-24T21:27:05",  # no zone: left to botocore, which assumes UTC
        1700000000,
    ],
)
def test_same_instant_and_zone_as_botocore(value: str | int) -> None:
    """Listing (ISO 8601), header (RFC 1123) and epoch forms parse to botocore's result."""
    ours, theirs = parse_timestamp(value), botocore_parse_timestamp(value)  # type: ignore[arg-type]
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()
