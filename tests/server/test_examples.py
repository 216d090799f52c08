"""The examples in ``examples/`` run against the moto server, so they cannot rot."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient

from examples.fastapi_app import create_app
from tests._helpers import data_files

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "notebook_sync.py"

OBJECTS = {
    "a.csv": b"id,value\n1,2\n",
    "2026/01/b.csv": b"id,value\n3,4\n5,6\n",
    "model/weights.bin": bytes(range(256)) * 1200,  # 300 KiB: streamed, not read whole
}


@pytest.fixture
def dataset(s3: Any, bucket: str) -> dict[str, bytes]:
    """OBJECTS under ``data/`` in this test's bucket, keyed by their path below the prefix."""
    for relpath, body in OBJECTS.items():
        s3.put_object(Bucket=bucket, Key=f"data/{relpath}", Body=body)
    return OBJECTS


def test_fastapi_lifespan_fetches_before_serving(
    moto_endpoint: str, bucket: str, dest: pathlib.Path, dataset: dict[str, bytes]
) -> None:
    """Building the app fetches nothing; starting it runs the lifespan, which fetches every
    file byte for byte before the first request, and GET /files lists them with their sizes."""
    app = create_app(
        bucket,
        "data/",
        destination_directory=dest,
        dataset_id="ds",
        endpoint_url=moto_endpoint,
        environ={},
    )
    assert not dest.exists()

    with TestClient(app) as client:
        root = dest / "ds"
        assert data_files(root) == sorted(dataset)
        for relpath, body in dataset.items():
            assert (root / relpath).read_bytes() == body

        response = client.get("/files")
        assert response.status_code == 200
        assert response.json() == [
            {"path": relpath, "size": len(dataset[relpath])} for relpath in sorted(dataset)
        ]
        assert client.get("/health").json() == {"status": "ok", "files": len(dataset)}


def test_fastapi_restart_and_refresh_fetch_only_changes(
    s3: Any, moto_endpoint: str, bucket: str, dest: pathlib.Path, dataset: dict[str, bytes]
) -> None:
    """A restart is a cache hit (files untouched), and POST /refresh on the lifespan's open
    client fetches a new object, removes a deleted one and leaves the rest untouched."""
    options: dict[str, Any] = {
        "destination_directory": dest,
        "dataset_id": "ds",
        "endpoint_url": moto_endpoint,
        "environ": {},
    }
    root = dest / "ds"
    with TestClient(create_app(bucket, "data/", **options)):
        first = {relpath: (root / relpath).stat() for relpath in dataset}

    with TestClient(create_app(bucket, "data/", **options)) as client:
        for relpath, before in first.items():
            after = (root / relpath).stat()
            assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

        s3.put_object(Bucket=bucket, Key="data/c.csv", Body=b"id\n7\n")
        s3.delete_object(Bucket=bucket, Key="data/a.csv")
        response = client.post("/refresh")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "files": 3}

        expected = sorted(["2026/01/b.csv", "c.csv", "model/weights.bin"])
        assert [item["path"] for item in client.get("/files").json()] == expected
        assert data_files(root) == expected
        assert (root / "c.csv").read_bytes() == b"id\n7\n"
        kept = (root / "model/weights.bin").stat()
        assert kept.st_ino == first["model/weights.bin"].st_ino


def run_notebook(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(NOTEBOOK), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.parametrize("source", ["env", "argv"])
def test_notebook_script_fetches_then_hits_the_cache(
    source: str,
    moto_endpoint: str,
    bucket: str,
    dest: pathlib.Path,
    dataset: dict[str, bytes],
) -> None:
    """`python examples/notebook_sync.py`, pointed at the bucket by environment variables or by
    an s3:// argument, lands every file byte for byte, then reports a cache hit that downloads
    nothing."""
    env = {"DATASET_DIR": str(dest), "DATASET_ID": "ds", "AWS_ENDPOINT_URL": moto_endpoint}
    args: list[str] = []
    if source == "env":
        env |= {"DATASET_BUCKET": bucket, "DATASET_PREFIX": "data/"}
    else:
        args.append(f"s3://{bucket}/data/")

    result = run_notebook(*args, env=env)

    assert result.returncode == 0, result.stderr
    root = dest / "ds"
    assert data_files(root) == sorted(dataset)
    for relpath, body in dataset.items():
        assert (root / relpath).read_bytes() == body
    out = result.stdout
    assert f"first fetch: fetched {len(dataset)} file(s)" in out
    for relpath, body in dataset.items():
        assert f"  {relpath}  {len(body)} B" in out
    assert "second fetch: cache hit, downloaded 0 file(s)" in out
    assert "cache hit: 3 file(s)" in result.stderr  # the library's own verdict, logged at INFO
    assert "dry run: would fetch 0, delete 0" in out


def test_dask_script_fetches_with_a_local_cluster_then_hits_the_cache(
    moto_endpoint: str, bucket: str, dest: pathlib.Path, dataset: dict[str, bytes]
) -> None:
    """`python examples/dask_cluster.py` starts two worker processes, which fetch their
    shards of the dataset byte for byte; its second run fetches nothing."""
    env = {
        "DATASET_BUCKET": bucket,
        "DATASET_PREFIX": "data/",
        "DATASET_DIR": str(dest),
        "DATASET_ID": "ds",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_cluster.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=dest.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    root = dest / "ds"
    for relpath, body in dataset.items():
        assert (root / relpath).read_bytes() == body
    assert f"first run: fetched {len(dataset)} file(s)" in result.stdout
    assert "second run: fetched 0 file(s), 0 B in" in result.stdout
    assert f"kept {len(dataset)}, deleted 0, failed 0" in result.stdout
