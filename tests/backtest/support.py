"""Small builders for hand-computed backtest scenarios."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl

from edgewatch.backtest import BacktestConfig, FillConfig
from edgewatch.strategies.base import TICK_SCHEMA, LinkInfo, MarketInfo, ProposedSignal, Side

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KALSHI = MarketInfo(market_id=1, venue="kalshi", fee_schedule="kalshi")
POLYMARKET = MarketInfo(
    market_id=2, venue="polymarket", fee_schedule="polymarket", fee_rate=Decimal("0.02")
)
MARKETS = {1: KALSHI, 2: POLYMARKET}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def tick_frame(rows: Sequence[tuple[int, float, float, float, float, float]]) -> pl.DataFrame:
    """Rows of (market, seconds after T0, bid, ask, bid size, ask size)."""
    return pl.DataFrame(
        [
            {
                "market_id": market,
                "tick_ts": at(seconds),
                "bid": bid,
                "ask": ask,
                "last": (bid + ask) / 2,
                "volume": 0.0,
                "bid_size": bid_size,
                "ask_size": ask_size,
            }
            for market, seconds, bid, ask, bid_size, ask_size in rows
        ],
        schema=TICK_SCHEMA,
    ).sort(["market_id", "tick_ts"])


def signal(
    market: int, seconds: float, side: Side, limit: float, size: float, *, ttl: float = 3600
) -> ProposedSignal:
    return ProposedSignal(
        signal_ts=at(seconds),
        market_id=market,
        side=side,
        limit_price=limit,
        size_hint=size,
        edge=0.05,
        confidence=0.9,
        expires_at=at(seconds + ttl),
        dedupe_key=f"test:{market}:{seconds}:{side}",
    )


def config(**overrides: object) -> BacktestConfig:
    """Ten-second steps, one-cent slippage, two-second latency, $1,000."""
    settings: dict[str, object] = {
        "starting_cash": Decimal(1000),
        "max_position": 1000,
        "step": timedelta(seconds=10),
        "fills": FillConfig(slippage=Decimal("0.01"), latency=timedelta(seconds=2)),
    }
    settings.update(overrides)
    return BacktestConfig(**settings)  # type: ignore[arg-type]


class Scripted:
    """Emits a fixed plan, each signal once its time has come, exactly as the protocol asks."""

    name = "scripted"
    version = "1"

    def __init__(self, plan: Sequence[ProposedSignal]) -> None:
        self.plan = list(plan)

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        latest = ticks.get_column("tick_ts").max()
        assert isinstance(latest, datetime)
        return [
            s for s in self.plan if (since is None or s.signal_ts > since) and s.signal_ts <= latest
        ]
