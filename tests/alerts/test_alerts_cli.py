"""``edgewatch alerts test|list`` as a user runs them: a real process, real local servers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alert_servers import HttpReceiver, SmtpServer
from edgewatch.alerts.service import evaluate_and_notify
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.models import PipelineRun


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "edgewatch", *args],
        env={
            **base,
            "COLUMNS": "250",
            "EDGEWATCH_SECRETS_DIR": "/nonexistent-edgewatch-secrets",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_alerts_test_sends_to_slack(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    env = {
        "EDGEWATCH_DATA_DIR": str(tmp_path),
        "EDGEWATCH_ALERT_SLACK_WEBHOOK_URL": f"{http_receiver.base_url}/services/T/B/x",
    }
    result = run_cli("alerts", "test", "--channel", "slack", env=env)
    assert result.returncode == 0, result.stderr
    assert "sent a test notification to slack" in result.stdout
    [body] = http_receiver.to("/services/T/B/x")
    assert body["text"] == "*[INFO] Test notification from Edgewatch*"


def test_alerts_test_sends_email(smtp_server: SmtpServer, tmp_path: Path) -> None:
    env = {
        "EDGEWATCH_DATA_DIR": str(tmp_path),
        "EDGEWATCH_ALERT_SMTP_HOST": smtp_server.host,
        "EDGEWATCH_ALERT_SMTP_PORT": str(smtp_server.port),
        "EDGEWATCH_ALERT_SMTP_STARTTLS": "false",
        "EDGEWATCH_ALERT_EMAIL_FROM": "edgewatch@example.test",
        "EDGEWATCH_ALERT_EMAIL_TO": "ops@example.test",
    }
    result = run_cli("alerts", "test", "--channel", "email", env=env)
    assert result.returncode == 0, result.stderr
    [mail] = smtp_server.mails
    assert mail.recipients == ["ops@example.test"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "edgewatch: alert channel 'slack' is not configured"),
        (
            {"EDGEWATCH_ALERT_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/services/T/B/secret"},
            "edgewatch: slack: cannot reach http://127.0.0.1:9",
        ),
    ],
)
def test_alerts_test_fails_in_one_line(env: dict[str, str], expected: str, tmp_path: Path) -> None:
    result = run_cli(
        "alerts", "test", "--channel", "slack", env={"EDGEWATCH_DATA_DIR": str(tmp_path), **env}
    )
    assert result.returncode == 2
    assert result.stderr.startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_a_channel_answering_500_fails_in_one_line(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    http_receiver.status = 500
    env = {
        "EDGEWATCH_DATA_DIR": str(tmp_path),
        "EDGEWATCH_ALERT_WEBHOOK_URL": f"{http_receiver.base_url}/hook",
    }
    result = run_cli("alerts", "test", "--channel", "webhook", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'edgewatch: webhook: {http_receiver.base_url} answered HTTP 500: {{"ok": true}}'
    )


def test_alerts_list_shows_what_fires(
    settings: Settings, session_factory: sessionmaker[Session], http_receiver: HttpReceiver
) -> None:
    now = utcnow()
    with session_scope(session_factory) as session:
        for minute in range(3):
            session.add(
                PipelineRun(
                    pipeline="ingest-sim",
                    status="failed",
                    started_at=now - timedelta(minutes=minute + 1),
                )
            )
    with session_scope(session_factory) as session:
        evaluate_and_notify(session, settings, now=now)
    env = {
        "EDGEWATCH_DATABASE_URL": settings.resolved_database_url,
        "EDGEWATCH_DATA_DIR": str(settings.data_dir),
        "EDGEWATCH_ALERT_WEBHOOK_URL": f"{http_receiver.base_url}/hook",
    }
    result = run_cli("alerts", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert "EdgewatchPipelineFailures" in result.stdout
    assert "pipeline=ingest-sim" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        "1 alert(s) firing; notifications go to: webhook"
    )
