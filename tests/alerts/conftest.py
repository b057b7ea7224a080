"""Fixtures of the alert tests: the local servers of ``alert_servers``, settings without a DB."""

from pathlib import Path

import pytest

from alert_servers import http_receiver, smtp_server
from edgewatch.config import Settings

__all__ = ["http_receiver", "smtp_server"]


@pytest.fixture
def plain_settings(tmp_path: Path) -> Settings:
    """Settings for tests that need no database (channels, CLI test command)."""
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
    )
