"""Markets and the cross-venue links between them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.clock import utcnow
from edgewatch.models.base import Base

MARKET_STATUSES = ("open", "closed", "pending_resolution", "resolved", "void")
RESOLUTIONS = ("yes", "no", "void")
LINK_RELATIONS = ("same", "complement")
LINK_STATUSES = ("proposed", "confirmed", "rejected")


class Market(Base):
    """One binary contract on one venue; prices are the probability of YES."""

    __tablename__ = "markets"
    __table_args__ = (
        UniqueConstraint("venue", "venue_market_id"),
        CheckConstraint(f"status IN {MARKET_STATUSES!r}", name="status"),
        CheckConstraint("resolution IS NULL OR resolution IN ('yes', 'no', 'void')", name="res"),
        Index("ix_markets_status_close_time", "status", "close_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue: Mapped[str] = mapped_column(String(32))
    venue_market_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(100))
    rules: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default="open")
    close_time: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(8))
    resolved_at: Mapped[datetime | None]
    #: Which venue fee model prices this market (``kalshi`` / ``polymarket``); None = unknown.
    fee_schedule: Mapped[str | None] = mapped_column(String(24))
    fee_multiplier: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    fee_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    tick_size: Mapped[float] = mapped_column(default=0.01)
    #: Time of the newest stored tick, kept by ingest so freshness needs no scan of the ticks.
    last_tick_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MarketLink(Base):
    """Two markets on different venues that resolve on the same question.

    ``complement`` means YES on one is NO on the other. Only ``confirmed`` links may be traded as
    riskless arbitrage.
    """

    __tablename__ = "market_links"
    __table_args__ = (
        UniqueConstraint("market_a_id", "market_b_id"),
        CheckConstraint(f"relation IN {LINK_RELATIONS!r}", name="relation"),
        CheckConstraint(f"status IN {LINK_STATUSES!r}", name="status"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    market_a_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    market_b_id: Mapped[int] = mapped_column(
        ForeignKey("markets.id", ondelete="CASCADE"), index=True
    )
    relation: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float]
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
