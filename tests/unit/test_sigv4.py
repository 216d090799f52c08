"""The direct GET path's signer gives byte-for-byte the Authorization botocore gives."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from aio_s3_ingest._s3.sigv4 import Credentials, GetSigner, query

KEYS = ["data/part-000.csv", "a b/ü+=&;,~'()!*$@.bin", "deep/" * 20 + "x", "%41 already"]
HOSTS = [
    "http://127.0.0.1:9000/bucket/",
    "https://bucket.s3.eu-west-1.amazonaws.com/",
    "https://s3.us-east-1.amazonaws.com:443/bucket/",
    "http://[::1]:8080/bucket/",
    "http://localhost:80/bucket/",
]


def _botocore(url: str, headers: dict[str, str], creds: Credentials, region: str) -> dict[str, str]:
    request = AWSRequest(method="GET", url=url, headers=dict(headers))
    frozen = BotocoreCredentials(creds.access_key, creds.secret_key, creds.token)
    S3SigV4Auth(frozen, "s3", region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("base", HOSTS)
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE//session+token="])
def test_signature_matches_botocore(key: str, base: str, token: str | None) -> None:
    """Same URL, headers, credentials and second: the same headers, Authorization included."""
    url = base + urllib.parse.quote(key, safe="/~")
    headers = {"Range": "bytes=0-65535", "If-Match": '"9b2cf535f27731c974343645a3985328"'}
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    expected = _botocore(url, headers, creds, "eu-west-1")
    when = dt.datetime.strptime(expected["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    ours = GetSigner("eu-west-1").sign(url, headers, creds, when.replace(tzinfo=dt.timezone.utc))
    assert ours == expected


def test_one_signer_signs_for_every_origin_it_is_given() -> None:
    """The Host header is kept per origin: a signer used for several endpoints in turn
    signs each as botocore does."""
    signer = GetSigner("eu-west-1")
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
    urls = [base + "data/x.bin" for base in HOSTS] + [HOSTS[0] + "y.bin"]
    for url in urls * 2:
        expected = _botocore(url, {}, creds, "eu-west-1")
        when = dt.datetime.strptime(expected["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        assert signer.sign(url, {}, creds, when.replace(tzinfo=dt.timezone.utc)) == expected


PARAMS = [
    {"list-type": "2", "prefix": "data/", "encoding-type": "url"},
    {"list-type": "2", "prefix": "a b/ü+=&;,~'()!*$@", "encoding-type": "url"},
    {"list-type": "2", "prefix": "", "continuation-token": "1/a+B==", "encoding-type": "url"},
]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("base", HOSTS[:2])
def test_a_query_is_signed_as_botocore_signs_its_params(params: dict[str, str], base: str) -> None:
    """A listing request: botocore signs its params; ours is the URL with :func:`query`."""
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
    request = AWSRequest(method="GET", url=base, params=dict(params))
    S3SigV4Auth(
        BotocoreCredentials(creds.access_key, creds.secret_key), "s3", "eu-west-1"
    ).add_auth(request)
    expected = dict(request.headers.items())
    when = dt.datetime.strptime(expected["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    url = base + "?" + query(params)
    ours = GetSigner("eu-west-1").sign(url, {}, creds, when.replace(tzinfo=dt.timezone.utc))
    assert ours == expected
    sent = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    assert dict(sent) == params  # botocore sends a space as "+", we as "%20": both mean one


def test_the_signing_key_follows_the_day_and_the_secret() -> None:
    """A cached key is reused within a day, and replaced for a new day or rotated secret."""
    signer = GetSigner("us-east-1")
    url, headers = "http://127.0.0.1:9000/b/k", {"Range": "bytes=0-1"}
    day1 = dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=dt.timezone.utc)
    day2 = day1 + dt.timedelta(seconds=2)
    for creds in (Credentials("AK", "one", None), Credentials("AK", "two", None)):
        for when in (day1, day2, day1):
            got = signer.sign(url, headers, creds, when)
            expected = _botocore_at(url, headers, creds, when)
            assert got["Authorization"] == expected


def _botocore_at(url: str, headers: dict[str, str], creds: Credentials, when: dt.datetime) -> str:
    """botocore's Authorization for ``when``: its canonical request, signed by hand."""
    request = AWSRequest(method="GET", url=url, headers=dict(headers))
    auth = S3SigV4Auth(BotocoreCredentials(*creds), "s3", "us-east-1")
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    auth._modify_request_before_signing(request)
    request.headers.replace_header("X-Amz-Date", request.context["timestamp"])
    signature = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    scope = auth.credential_scope(request)
    signed = auth.signed_headers(auth.headers_to_sign(request))
    return (
        f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
