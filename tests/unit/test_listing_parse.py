"""The listing on the direct path: S3's XML parsed as botocore parses it, and handed to
botocore when it is anything else (retries on the wire: tests/server/test_direct_listing.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from aio_s3_ingest._s3.getter import UseBotocore
from aio_s3_ingest._s3.listing import parse_list_page

_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _page(contents: str, *, truncated: bool = False, token: str | None = None) -> bytes:
    tail = f"<NextContinuationToken>{token}</NextContinuationToken>" if token else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{_NS}">'
        f"<Name>b</Name><Prefix>data/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
        f"<EncodingType>url</EncodingType><IsTruncated>{str(truncated).lower()}</IsTruncated>"
        f"{contents}{tail}</ListBucketResult>"
    ).encode()


def _item(key: str, size: int = 3) -> str:
    return (
        f"<Contents><Key>{key}</Key><LastModified>2026-11-24T10:00:01.000Z</LastModified>"
        f"<ETag>&quot;abc&quot;</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass>"
        "</Contents>"
    )


def test_keys_are_url_decoded_and_fields_typed() -> None:
    """encoding-type=url: "+" is a space and %XX a byte of UTF-8, as botocore decodes them."""
    page = parse_list_page(_page(_item("data/a+b%2Bc%C3%BC.csv", 12)))
    assert page.token is None
    [obj] = page.objects
    assert obj.key == "data/a b+cü.csv"
    assert (obj.size, obj.etag) == (12, '"abc"')
    assert obj.last_modified == dt.datetime(2026, 11, 24, 10, 0, 1, tzinfo=dt.timezone.utc)


def test_a_truncated_page_gives_its_continuation_token() -> None:
    page = parse_list_page(_page(_item("data/x"), truncated=True, token="1/ab+c="))
    assert [o.key for o in page.objects] == ["data/x"]
    assert page.token == "1/ab+c="


def test_folders_of_a_delimited_page_are_url_decoded() -> None:
    body = _page("<CommonPrefixes><Prefix>data/y%3D2026+x/</Prefix></CommonPrefixes>")
    assert parse_list_page(body).folders == ["data/y=2026 x/"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>not a listing", "not XML"),
        (b"<Error><Code>Odd</Code></Error>", "root <Error>"),
        (_page("<Contents><Key>data/x</Key></Contents>"), "without Key, Size"),
        (_page(_item("data/x"), truncated=True), "without a continuation token"),
    ],
)
def test_anything_unexpected_is_left_to_botocore(body: bytes, reason: str) -> None:
    with pytest.raises(UseBotocore, match=reason):
        parse_list_page(body)
