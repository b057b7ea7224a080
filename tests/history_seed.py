"""Seed a database with tick history and backtest runs spread over time, for retention,
archive and backup tests. Values are irregular on purpose (nulls, many decimals) so that a
checksum catches any change in a round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
from sqlalchemy.orm import Session

from edgewatch.models import Market
from edgewatch.models.backtest import BacktestEquity, BacktestRun, BacktestTrade
from edgewatch.ticks.store import store_ticks

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def seed_markets(session: Session) -> list[Market]:
    markets = [
        Market(venue="kalshi", venue_market_id="KX-RAIN-1", title="Rain tomorrow?", status="open"),
        Market(venue="polymarket", venue_market_id="0xabc", title="Rain, again?", status="open"),
    ]
    session.add_all(markets)
    session.flush()
    return markets


def seed_ticks(
    session: Session, markets: list[Market], *, start: datetime, hours: int, step_minutes: int = 30
) -> int:
    """Ticks every ``step_minutes`` for ``hours`` from ``start`` on every market; returns rows."""
    rows = []
    steps = hours * 60 // step_minutes
    for index, market in enumerate(markets):
        for n in range(steps):
            ts = start + timedelta(minutes=n * step_minutes, microseconds=137 * n + index)
            bid = round(0.1 + ((n * 7 + index) % 70) / 100 + 1e-7 * n, 9)
            rows.append(
                (
                    market.id,
                    ts,
                    bid,
                    min(bid + 0.02, 1.0),
                    None if n % 5 == 0 else bid + 0.01,
                    float(n * 3),
                    None if n % 3 else 12.5,
                    None,
                )
            )
    frame = pl.DataFrame(
        rows,
        schema={
            "market_id": pl.Int64,
            "tick_ts": pl.Datetime("us", "UTC"),
            "bid": pl.Float64,
            "ask": pl.Float64,
            "last": pl.Float64,
            "volume": pl.Float64,
            "bid_size": pl.Float64,
            "ask_size": pl.Float64,
        },
        orient="row",
    )
    return store_ticks(session, frame)


def seed_run(session: Session, *, created_at: datetime, status: str = "succeeded") -> BacktestRun:
    """A stored backtest run with two trades and three equity points."""
    run = BacktestRun(
        created_at=created_at,
        strategy="mean_reversion",
        params={"window": 20, "z": 1.5, "nested": {"a": [1, 2]}},
        window_start=created_at - timedelta(days=7),
        window_end=created_at,
        status=status,
        seed=42,
        code_version="abc123",
        metrics={"sharpe": 1.25, "trades": 2},
        finished_at=created_at + timedelta(minutes=3),
        config={"fees": True},
        warnings=["gap in KX-RAIN-1"],
        summary={"ticks": 100},
    )
    session.add(run)
    session.flush()
    for seq, (action, qty) in enumerate((("buy", 10), ("sell", 10))):
        session.add(
            BacktestTrade(
                run_id=run.id,
                seq=seq,
                kind="fill",
                market_id=1,
                side="yes",
                action=action,
                quantity=qty,
                price=Decimal("0.4312345678"),
                fee=Decimal("0.0700000000"),
                cash_flow=Decimal("-4.3823456780"),
                ts=created_at - timedelta(hours=seq + 1),
                reference=f"sig-{seq}",
            )
        )
    for n in range(3):
        session.add(
            BacktestEquity(
                run_id=run.id,
                ts=created_at - timedelta(hours=n),
                equity=1000.0 + n / 3,
                cash=990.0,
                exposure=0.1 * n,
            )
        )
    session.flush()
    return run
