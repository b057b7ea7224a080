"""API models of cross-venue links. ``complement`` means YES on market A is NO on market B."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from edgewatch.api.params import NO_NUL
from edgewatch.markets.links import MAX_REASON_LENGTH, LinkDetail, LinkRow
from edgewatch.markets.repository import MarketQuote
from edgewatch.models import Market, MarketLink

LinkStatus = Literal["proposed", "confirmed", "rejected"]
LinkRelation = Literal["same", "complement"]


class LinkMarket(BaseModel):
    """One end of a link, as listed."""

    id: int
    venue: str
    venue_market_id: str
    title: str
    status: str
    close_time: datetime | None

    @classmethod
    def from_market(cls, market: Market) -> LinkMarket:
        return cls(
            id=market.id,
            venue=market.venue,
            venue_market_id=market.venue_market_id,
            title=market.title,
            status=market.status,
            close_time=market.close_time,
        )


class LinkMarketDetail(LinkMarket):
    """One end of a link with its rules and latest quote (prices are probabilities of YES)."""

    category: str | None
    rules: str | None
    bid: float | None
    ask: float | None
    last: float | None
    last_tick_at: datetime | None

    @classmethod
    def from_quote(cls, quote: MarketQuote) -> LinkMarketDetail:
        market, tick = quote.market, quote.tick
        return cls(
            **LinkMarket.from_market(market).model_dump(),
            category=market.category,
            rules=market.rules,
            bid=tick.bid if tick else None,
            ask=tick.ask if tick else None,
            last=tick.last if tick else None,
            last_tick_at=market.last_tick_at,
        )


class LinkReason(BaseModel):
    """One matching signal: ``factor`` multiplied the confidence (1.0 = no effect)."""

    signal: str
    verdict: Literal["match", "mismatch", "info"]
    detail: str
    factor: float


class LinkOut(BaseModel):
    id: int
    relation: LinkRelation
    confidence: float
    status: LinkStatus
    source: str
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    market_a: LinkMarket
    market_b: LinkMarket

    @classmethod
    def from_row(cls, row: LinkRow) -> LinkOut:
        return cls(
            **_link_fields(row.link),
            market_a=LinkMarket.from_market(row.a),
            market_b=LinkMarket.from_market(row.b),
        )


class LinkDetailOut(BaseModel):
    """A link with both markets side by side and why the matcher scores the pair as it does.

    ``reasons`` and ``matcher_confidence`` are recomputed from the markets as they are now;
    ``confidence`` is the value stored when the link was proposed.
    """

    id: int
    relation: LinkRelation
    confidence: float
    status: LinkStatus
    source: str
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    market_a: LinkMarketDetail
    market_b: LinkMarketDetail
    matcher_relation: LinkRelation
    matcher_confidence: float
    reasons: list[LinkReason]

    @classmethod
    def from_detail(cls, detail: LinkDetail) -> LinkDetailOut:
        return cls(
            **_link_fields(detail.link),
            market_a=LinkMarketDetail.from_quote(detail.a),
            market_b=LinkMarketDetail.from_quote(detail.b),
            matcher_relation=detail.score.relation,
            matcher_confidence=detail.score.confidence,
            reasons=[
                LinkReason(signal=r.signal, verdict=r.verdict, detail=r.detail, factor=r.factor)
                for r in detail.score.reasons
            ],
        )


class RejectBody(BaseModel):
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH, pattern=NO_NUL)


def _link_fields(link: MarketLink) -> dict[str, object]:
    return {
        "id": link.id,
        "relation": link.relation,
        "confidence": link.confidence,
        "status": link.status,
        "source": link.source,
        "created_at": link.created_at,
        "reviewed_at": link.reviewed_at,
        "reviewed_by": link.reviewed_by,
    }
