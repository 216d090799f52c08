"""The resolve's data loader on its own: AWS_DATA_PATH is kept, and botocore's
UnknownServiceError still lists the services (the direct path's setup against the moto
server: tests/server/test_resolve.py)."""

from __future__ import annotations

import os
import pathlib

import pytest


def test_the_resolve_loader_keeps_aws_data_path_and_botocore_s_unknown_service_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.exceptions
    import botocore.session

    from aio_s3_ingest._s3.resolve import _data_loader

    monkeypatch.setenv("AWS_DATA_PATH", f"{tmp_path / 'a'}{os.pathsep}~/models")
    session = botocore.session.Session()
    loader = _data_loader(session)
    assert loader.search_paths[:2] == [str(tmp_path / "a"), os.path.expanduser("~/models")]
    session.register_component("data_loader", loader)
    with pytest.raises(botocore.exceptions.UnknownServiceError) as raised:
        session.create_client("no-such-service", region_name="us-east-1")
    listed = str(raised.value)  # botocore's message lists every service it knows
    assert "s3" in listed
    assert "sts" in listed
