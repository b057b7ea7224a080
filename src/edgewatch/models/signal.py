"""Trading signals: immutable once written; every one is also in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.clock import utcnow
from edgewatch.models.base import Base


class Signal(Base):
    __tablename__ = "signals"
    __table_args__ = (
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
        CheckConstraint("side IN ('yes', 'no')", name="side"),
        Index("ix_signals_strategy_signal_ts", "strategy", "signal_ts"),
        Index("ix_signals_market_signal_ts", "market_id", "signal_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Time of the newest data the signal was computed from (not when it was computed).
    signal_ts: Mapped[datetime]
    strategy: Mapped[str] = mapped_column(String(64))
    strategy_version: Mapped[str] = mapped_column(String(32))
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(3))
    limit_price: Mapped[float]
    #: The other leg of a paired trade (cross-venue), if any; its side is in ``inputs``.
    paired_market_id: Mapped[int | None] = mapped_column(
        ForeignKey("markets.id", ondelete="CASCADE")
    )
    size_hint: Mapped[float]
    #: Expected profit per contract in dollars after all fees.
    edge: Mapped[float]
    confidence: Mapped[float]
    expires_at: Mapped[datetime]
    inputs: Mapped[dict[str, Any]]
    #: Makes generation idempotent: the same inputs never produce a second signal.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
