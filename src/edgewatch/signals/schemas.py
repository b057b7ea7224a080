"""API models of signals. ``edge`` is expected profit per contract in dollars after all fees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from edgewatch.signals.repository import SignalWithMarket


class SignalOut(BaseModel):
    id: int
    signal_ts: datetime
    created_at: datetime
    expires_at: datetime
    strategy: str
    strategy_version: str
    market_id: int
    venue: str
    market_title: str
    side: str
    limit_price: float
    paired_market_id: int | None
    size_hint: float
    edge: float
    confidence: float
    inputs: dict[str, Any]

    @classmethod
    def from_row(cls, row: SignalWithMarket) -> SignalOut:
        signal, market = row.signal, row.market
        return cls(
            id=signal.id,
            signal_ts=signal.signal_ts,
            created_at=signal.created_at,
            expires_at=signal.expires_at,
            strategy=signal.strategy,
            strategy_version=signal.strategy_version,
            market_id=signal.market_id,
            venue=market.venue,
            market_title=market.title,
            side=signal.side,
            limit_price=signal.limit_price,
            paired_market_id=signal.paired_market_id,
            size_hint=signal.size_hint,
            edge=signal.edge,
            confidence=signal.confidence,
            inputs=signal.inputs,
        )
