"""``edgewatch quality run|report``: a window checked with a summary line, findings listed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from edgewatch.cli import app
from edgewatch.clock import utcnow
from edgewatch.db.session import session_scope
from edgewatch.models import Market, RejectedRecord

runner = CliRunner()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("EDGEWATCH_ENVIRONMENT", "test")
    monkeypatch.setenv("EDGEWATCH_SECRET_KEY", "test-secret-key-not-a-placeholder")
    monkeypatch.setenv("COLUMNS", "200")  # the report table, unwrapped


def test_run_then_report_shows_what_was_found(
    env: None, session_factory: sessionmaker[Session]
) -> None:
    now = utcnow()
    with session_scope(session_factory) as session:
        session.add(Market(venue="kalshi", venue_market_id="RAIN", title="Will it rain?"))
        session.add(
            RejectedRecord(
                venue="kalshi",
                kind="tick",
                reason="crossed_quote",
                payload=f'{{"venue_market_id": "RAIN", "ts": "{now.isoformat()}", '
                '"bid": 0.6, "ask": 0.5, "last": null}',
            )
        )
    ran = runner.invoke(app, ["quality", "run", "--from", (now - timedelta(hours=1)).isoformat()])
    assert ran.exit_code == 0, ran.output
    assert "findings: crossed_quote 1; 1 new, 0 extended" in ran.output.splitlines()[-1]
    again = runner.invoke(app, ["quality", "run", "--from", (now - timedelta(hours=1)).isoformat()])
    assert "0 new, 0 extended" in again.output
    report = runner.invoke(app, ["quality", "report", "--kind", "crossed_quote"])
    assert report.exit_code == 0, report.output
    assert "bid 0.6 is above ask 0.5" in report.output
    assert report.output.splitlines()[-1].endswith("kalshi crossed_quote 1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--from", "yesterday"], "--from/--to"),
        (["run", "--from", "2026-06-02T00:00:00Z", "--to", "2026-06-01T00:00:00Z"], "before"),
        (["run", "--from", "0", "--to", "99999999999"], "at most 366 are checked in one run"),
        (["report", "--kind", "weird"], "unknown kind 'weird'"),
    ],
)
def test_bad_arguments_are_one_line_errors(env: None, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["quality", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
