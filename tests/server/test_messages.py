"""Errors carry the keyword arguments they name, against a real endpoint: missing
credentials (the messages that need no server are in tests/unit/test_messages.py)."""

from __future__ import annotations

import pytest

from aio_s3_ingest import (
    CredentialsError,
)
from tests._helpers import MakeIngester


@pytest.mark.asyncio
async def test_missing_credentials_name_the_keyword_arguments(
    monkeypatch: pytest.MonkeyPatch, make_ingester: MakeIngester
) -> None:
    """With no credentials, the message suggests aws_profile_name and anonymous=True, and
    lists both among the parameters it names."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsError) as info:
        await make_ingester().fetch_data()
    assert "(aws_profile_name)" in str(info.value)
    assert "anonymous=True" in str(info.value)
    assert set(info.value.parameters) == {"aws_profile_name", "anonymous"}
