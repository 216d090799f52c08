"""The FastAPI example without a dataset: it builds, and fails at startup naming what is
missing (the examples run against the moto server in tests/server/test_examples.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from examples.fastapi_app import create_app


def test_fastapi_app_without_a_dataset_fails_at_startup_not_import() -> None:
    """With no DATASET_BUCKET/DATASET_PREFIX, building the app (as importing the module does)
    succeeds; starting it fails with a message naming both variables."""
    app = create_app(environ={})
    with (
        pytest.raises(RuntimeError, match="set DATASET_BUCKET and DATASET_PREFIX"),
        TestClient(app),
    ):
        pass
