"""The direct path's setup: botocore resolves the endpoint and credentials, credentials
that expire are refreshed during the run, and aiobotocore is opened only when needed."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest

from aio_s3_ingest import ObjectChangedError
from tests._helpers import MakeIngester, data_files
from tests._proxy import FaultProxy, Request, proxy_fixture  # noqa: F401

_RUN_AND_REPORT_MODULES = """
import sys
from aio_s3_ingest import S3Ingester
paths = S3Ingester(sys.argv[1], "data/", dataset_id="ds", destination_directory=sys.argv[2],
                   endpoint_url=sys.argv[3], direct_get=sys.argv[4] == "direct").fetch_data()
print(len(paths), "aiobotocore" in sys.modules, "aiohttp" in sys.modules)
"""


@pytest.mark.parametrize("path", ["direct", "botocore"])
def test_a_direct_run_never_imports_aiobotocore(
    path: str, s3: Any, bucket: str, dest: pathlib.Path, moto_endpoint: str
) -> None:
    """It costs a process 0.15 s of its start and exit, so only a run that needs it
    (here: with the direct path turned off) imports it."""
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"data/{i}.bin", Body=os.urandom(1000 + i))
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_REPORT_MODULES, bucket, str(dest), moto_endpoint, path],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    imported = path == "botocore"
    assert done.stdout.split() == ["3", str(imported), str(imported)]


def _credential_process(tmp_path: pathlib.Path) -> pathlib.Path:
    """A credential_process that hands out a new key each call, valid for a minute only
    (inside botocore's mandatory refresh window, so every signature asks for a refresh)."""
    calls = tmp_path / "calls"
    script = tmp_path / "creds.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import datetime, json
            with open({str(calls)!r}, "a") as f:
                f.write("x")
            n = len(open({str(calls)!r}).read())
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
            print(json.dumps({{"Version": 1, "AccessKeyId": f"KEY{{n}}",
                               "SecretAccessKey": "secret", "Expiration": expires.isoformat()}}))
            """
        )
    )
    return script


@pytest.mark.asyncio
async def test_expiring_credentials_are_refreshed_during_the_run(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
) -> None:
    config = tmp_path / "aws-config"
    script = _credential_process(tmp_path)
    config.write_text(f"[profile rotating]\ncredential_process = {sys.executable} {script}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    for i in range(6):
        s3.put_object(Bucket=bucket, Key=f"data/{i}.bin", Body=os.urandom(2000))
    keys_seen: list[str] = []
    lock = threading.Lock()

    def record(request: Request) -> None:
        authorization = request.headers.get("authorization", "")
        with lock:
            keys_seen.append(authorization.split("Credential=", 1)[-1].split("/", 1)[0])

    proxy.before_forward(record, method=None)
    ingester = make_ingester(
        endpoint_url=proxy.url, aws_profile_name="rotating", max_concurrent_files=1
    )
    await ingester.fetch_data()

    assert len(data_files(dest / "ds")) == 6
    assert len(keys_seen) == 7  # the listing and six GETs
    assert len(set(keys_seen)) > 2  # refreshed between requests, not only at the start
    assert all(key.startswith("KEY") for key in keys_seen)


@pytest.mark.asyncio
async def test_the_s3_manifest_is_read_again_when_its_body_breaks_off(
    s3: Any, bucket: str, dest: pathlib.Path, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    """The manifest is fetched on the data path: a reset mid-body reads it again."""
    for name in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=f"data/{name}.csv", Body=name.encode() * 100)
    entries = [{"url": f"s3://{bucket}/data/{n}.csv", "mandatory": True} for n in "ab"]
    s3.put_object(Bucket=bucket, Key="data/manifest", Body=json.dumps({"entries": entries}))
    cut = proxy.reset_after(10, key="data/manifest", times=2)

    await make_ingester(endpoint_url=proxy.url).fetch_data()

    assert cut.hits == 2
    assert data_files(dest / "ds") == ["a.csv", "b.csv"]


@pytest.mark.asyncio
async def test_an_s3_manifest_that_changes_while_read_is_an_object_changed_error(
    s3: Any, bucket: str, proxy: FaultProxy, make_ingester: MakeIngester
) -> None:
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"a")
    entries = [{"url": f"s3://{bucket}/data/a.csv", "mandatory": True}]
    s3.put_object(Bucket=bucket, Key="data/manifest", Body=json.dumps({"entries": entries}))

    def rewrite(_: Request) -> None:
        s3.put_object(Bucket=bucket, Key="data/manifest", Body=json.dumps({"entries": []}))

    proxy.before_forward(rewrite, key="data/manifest", times=1)
    with pytest.raises(ObjectChangedError, match="data/manifest"):
        await make_ingester(endpoint_url=proxy.url).fetch_data()


@pytest.mark.asyncio
async def test_an_assume_role_profile_gets_its_keys_from_sts(
    s3: Any,
    bucket: str,
    dest: pathlib.Path,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    proxy: FaultProxy,
    make_ingester: MakeIngester,
    moto_endpoint: str,
) -> None:
    """The resolve's session loads models its own way (``_resolve._Loader``); a profile
    that assumes a role makes botocore build an STS client from that session too, and
    the run signs with the role's temporary keys."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile base]\naws_access_key_id = basekey\naws_secret_access_key = base\n"
        "[profile reader]\nrole_arn = arn:aws:iam::123456789012:role/reader\n"
        "source_profile = base\nregion = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_endpoint)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    s3.put_object(Bucket=bucket, Key="data/a.bin", Body=b"a" * 3000)
    keys_seen: list[str] = []
    proxy.before_forward(
        lambda request: keys_seen.append(
            request.headers.get("authorization", "").split("Credential=", 1)[-1].split("/")[0]
        ),
        method=None,
    )
    await make_ingester(endpoint_url=proxy.url, aws_profile_name="reader").fetch_data()

    assert data_files(dest / "ds") == ["a.bin"]
    assert len(keys_seen) == 2  # the listing and the GET
    assert all(key.startswith("ASIA") for key in keys_seen), keys_seen
