"""``edgewatch signals report`` prints per-strategy scores and calibration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import typer
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from edgewatch.models import Market, Signal
from edgewatch.signals.scoring import signals_report

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_report_prints_each_strategy(
    db_url: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = Market(
        venue="kalshi",
        venue_market_id="K-9",
        title="Will it happen?",
        status="resolved",
        resolution="yes",
        resolved_at=T0 + timedelta(hours=1),
        fee_schedule="kalshi",
        fee_multiplier=Decimal(1),
    )
    session.add(market)
    session.flush()
    session.add(
        Signal(
            market_id=market.id,
            signal_ts=T0,
            strategy="momentum",
            strategy_version="1",
            side="yes",
            limit_price=0.4,
            size_hint=100.0,
            edge=0.05,
            confidence=0.5,
            expires_at=T0 + timedelta(minutes=5),
            inputs={"fair_value": 0.5},
            dedupe_key="report-1",
        )
    )
    session.commit()
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    app = typer.Typer()
    app.command("report")(signals_report)
    app.command("noop")(lambda: None)  # two commands keep "report" a sub-command
    result = CliRunner().invoke(app, ["report", "--bins", "5"])
    assert result.exit_code == 0, result.output
    assert "momentum" in result.output
    assert "+0.5832" in result.output  # realised edge: 1 − 0.40 − 1.68¢ fee
    assert "+0.1100" in result.output  # Brier advantage: 0.36 − 0.25
    assert "calibration: momentum" in result.output
