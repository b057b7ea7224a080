"""Price ticks: the largest table by far, so it stays narrow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.models.base import Base


class OddsTick(Base):
    """A quote for one market at one instant. Prices are probabilities in [0, 1].

    Ticks are immutable: the primary key (market, time) makes re-ingesting a window a no-op.
    """

    __tablename__ = "odds_ticks"
    __table_args__ = (
        # BRIN is tiny and ideal for append-ordered time; SQLite falls back to a B-tree.
        Index("ix_odds_ticks_tick_ts_brin", "tick_ts", postgresql_using="brin"),
    )

    market_id: Mapped[int] = mapped_column(
        ForeignKey("markets.id", ondelete="CASCADE"), primary_key=True
    )
    tick_ts: Mapped[datetime] = mapped_column(primary_key=True)
    bid: Mapped[float | None]
    ask: Mapped[float | None]
    last: Mapped[float | None]
    volume: Mapped[float | None]
    bid_size: Mapped[float | None]
    ask_size: Mapped[float | None]
