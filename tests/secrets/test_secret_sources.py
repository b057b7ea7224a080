"""Secrets from AWS Secrets Manager (a local moto server), and secrets never reaching the log."""

from __future__ import annotations

import json
import logging

import boto3
import pytest

from edgewatch.config import load_settings
from edgewatch.errors import ConfigError
from edgewatch.observability.logging import configure_logging, get_logger
from s3_fixtures import s3_endpoint  # noqa: F401  (fixture)


@pytest.fixture
def secrets_manager(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "edgewatch-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "edgewatch-test-secret")
    monkeypatch.setenv("EDGEWATCH_AWS_REGION", "eu-west-1")
    monkeypatch.setenv("EDGEWATCH_AWS_ENDPOINT_URL", s3_endpoint)
    return s3_endpoint


def _put_secret(endpoint: str, name: str, value: str) -> None:
    client = boto3.client("secretsmanager", region_name="eu-west-1", endpoint_url=endpoint)
    client.create_secret(Name=name, SecretString=value)


def test_settings_come_from_a_secrets_manager_secret(
    secrets_manager: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put_secret(
        secrets_manager,
        "edgewatch/prod",
        json.dumps({"EDGEWATCH_SECRET_KEY": "from-the-vault-0123456789", "log_level": "warning"}),
    )
    monkeypatch.setenv("EDGEWATCH_AWS_SECRET_ID", "edgewatch/prod")
    settings = load_settings()
    assert settings.secret_key.get_secret_value() == "from-the-vault-0123456789"
    assert settings.log_level == "warning"

    # The environment wins over the shared secret, so one process can differ.
    monkeypatch.setenv("EDGEWATCH_LOG_LEVEL", "debug")
    assert load_settings().log_level == "debug"


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, "secret 'edgewatch/missing': ResourceNotFoundException"),
        ("not json", "must be a JSON object of settings"),
    ],
)
def test_a_bad_secret_is_one_clear_configuration_error(
    secrets_manager: str, monkeypatch: pytest.MonkeyPatch, stored: str | None, expected: str
) -> None:
    name = "edgewatch/missing"
    if stored is not None:
        name = "edgewatch/garbled"
        _put_secret(secrets_manager, name, stored)
    monkeypatch.setenv("EDGEWATCH_AWS_SECRET_ID", name)
    with pytest.raises(ConfigError, match=expected):
        load_settings()


def test_configured_secrets_never_reach_the_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    monkeypatch.setenv("EDGEWATCH_SECRET_KEY", secret)
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", f"postgresql://edgewatch:{secret}@db:5432/x")
    monkeypatch.setenv("EDGEWATCH_ALERT_SMTP_USER", "alerts")
    monkeypatch.setenv("EDGEWATCH_ALERT_SMTP_PASSWORD", secret)
    settings = load_settings()
    configure_logging(level="debug", fmt="json")
    log = get_logger("test")
    log.info("settings loaded", settings=settings.model_dump())
    log.info("connecting", password=secret, api_key=secret, authorization=f"Bearer {secret}")
    log.info("repr of settings", detail=repr(settings), secret_key=settings.secret_key)
    logging.getLogger("stdlib").warning("settings: %s", settings)
    try:
        raise RuntimeError(f"cannot connect to {settings.database_url}")
    except RuntimeError:
        log.exception("connection failed")
    output = capsys.readouterr().err
    assert "settings loaded" in output
    assert "connecting" in output
    assert "postgresql://edgewatch:***@db:5432/x" in output
    assert secret not in output
