"""Hand-built ticks and markets for the strategy tests (imported as a plain module)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from edgewatch.strategies.base import TICK_SCHEMA, MarketInfo

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
STEP = timedelta(seconds=10)

KALSHI = MarketInfo(1, "kalshi", "kalshi")
POLYMARKET = MarketInfo(2, "polymarket", "polymarket", fee_rate=Decimal("0.02"))
MARKETS = {KALSHI.market_id: KALSHI, POLYMARKET.market_id: POLYMARKET}


def at(i: int) -> datetime:
    return T0 + i * STEP


def tick(
    market_id: int, i: int, bid: float | None, ask: float | None, **extra: Any
) -> dict[str, Any]:
    return {
        "market_id": market_id,
        "tick_ts": at(i),
        "bid": bid,
        "ask": ask,
        "last": extra.get("last"),
        "volume": extra.get("volume", 10.0 * i),
        "bid_size": extra.get("bid_size", 100.0),
        "ask_size": extra.get("ask_size", 100.0),
    }


def mids(
    market_id: int, values: Sequence[float], *, start: int = 0, half: float = 0.01
) -> list[dict[str, Any]]:
    return [
        tick(market_id, start + i, round(v - half, 6), round(v + half, 6))
        for i, v in enumerate(values)
    ]


def frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=TICK_SCHEMA).sort(
        "market_id", "tick_ts", maintain_order=True
    )
