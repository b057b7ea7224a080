"""API models of markets, their links and their ticks. Prices are probabilities of YES in [0, 1]."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Row

from edgewatch.markets.repository import MarketQuote

MarketStatus = Literal["open", "closed", "pending_resolution", "resolved", "void"]


class MarketSummary(BaseModel):
    id: int
    venue: str
    venue_market_id: str
    title: str
    category: str | None
    status: str
    close_time: datetime | None
    resolution: str | None
    bid: float | None
    ask: float | None
    last: float | None
    last_tick_at: datetime | None

    @classmethod
    def from_quote(cls, quote: MarketQuote) -> MarketSummary:
        return cls(**_summary_fields(quote))


class MarketLinkOut(BaseModel):
    """A cross-venue link; ``relation`` ``complement`` means YES here is NO there."""

    id: int
    market_id: int
    venue: str
    title: str
    relation: str
    confidence: float
    status: str
    source: str
    reviewed_at: datetime | None


class MarketDetail(MarketSummary):
    event_id: str | None
    rules: str | None
    resolved_at: datetime | None
    fee_schedule: str | None
    tick_size: float
    created_at: datetime
    updated_at: datetime
    links: list[MarketLinkOut]

    @classmethod
    def from_rows(cls, market: Row[Any], links: list[Row[Any]]) -> MarketDetail:
        """From ``repository.market_detail``'s rows, whose columns are named as these fields."""
        return cls.model_validate({**market._mapping, "links": [link._mapping for link in links]})


class TickOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tick_ts: datetime
    bid: float | None
    ask: float | None
    last: float | None
    volume: float | None
    bid_size: float | None
    ask_size: float | None


class CandleOut(BaseModel):
    """OHLC of the price (the mid, or ``last`` when a side is missing) over one bucket.

    ``bid``, ``ask`` and ``volume`` are those of the bucket's last tick; ``volume`` is the venue's
    cumulative traded volume, as in a tick.
    """

    model_config = ConfigDict(from_attributes=True)

    bucket_start: datetime
    open: float
    high: float
    low: float
    close: float
    bid: float | None
    ask: float | None
    volume: float | None
    tick_count: int


TickInterval = Literal["raw", "1m", "1h"]


class TickSeries(BaseModel):
    """A page of a market's price history: raw ticks, or candles of ``interval``."""

    interval: TickInterval
    items: list[TickOut] | list[CandleOut]
    next_cursor: str | None


def _summary_fields(quote: MarketQuote) -> dict[str, Any]:
    market, tick = quote.market, quote.tick
    return {
        "id": market.id,
        "venue": market.venue,
        "venue_market_id": market.venue_market_id,
        "title": market.title,
        "category": market.category,
        "status": market.status,
        "close_time": market.close_time,
        "resolution": market.resolution,
        "bid": tick.bid if tick else None,
        "ask": tick.ask if tick else None,
        "last": tick.last if tick else None,
        "last_tick_at": market.last_tick_at,
    }
