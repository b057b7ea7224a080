"""The one strategy interface, and the plain data it is given and returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

import polars as pl

Side = Literal["yes", "no"]

#: Columns of the tick frame every strategy receives, sorted by (market_id, tick_ts).
TICK_SCHEMA: dict[str, Any] = {
    "market_id": pl.Int64,
    "tick_ts": pl.Datetime("us", "UTC"),
    "bid": pl.Float64,
    "ask": pl.Float64,
    "last": pl.Float64,
    "volume": pl.Float64,
    "bid_size": pl.Float64,
    "ask_size": pl.Float64,
}


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """What a strategy may know about a market: its identity and fee terms, never its outcome."""

    market_id: int
    venue: str
    fee_schedule: str | None
    fee_multiplier: Decimal | None = None
    fee_rate: Decimal | None = None
    close_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class LinkInfo:
    market_a: int
    market_b: int
    relation: Literal["same", "complement"]
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class ProposedSignal:
    """A strategy's recommendation; the signals service stores it and audits it."""

    signal_ts: datetime
    market_id: int
    side: Side
    limit_price: float
    size_hint: float
    #: Expected profit per contract in dollars, after every fee.
    edge: float
    confidence: float
    expires_at: datetime
    dedupe_key: str
    paired_market_id: int | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    name: str
    version: str

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        """Signals for ticks strictly after ``since``.

        ``ticks`` (``TICK_SCHEMA``) also holds earlier context, so a strategy can tell a new
        opportunity from one it already reported; it never holds data after the evaluation time.
        """
        ...
