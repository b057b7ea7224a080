"""Data-quality findings: problems the quality checks found in a market's ticks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.clock import utcnow
from edgewatch.models.base import Base

#: What the checks look for (docs/data-quality.md explains each).
FINDING_KINDS = (
    "gap",
    "stale_quote",
    "out_of_range",
    "crossed_quote",
    "jump",
    "duplicate_timestamp",
)


class QualityFinding(Base):
    """One problem in one market over ``[start_ts, end_ts]`` (equal for a single bad tick).

    ``(market_id, kind, start_ts)`` is unique and findings of one market and kind that overlap are
    merged when stored, so running the checks again over the same ticks adds nothing.
    ``value`` is the problem's size in the unit of its kind: seconds for gaps and stale quotes,
    the price move for jumps, the offending price for out-of-range and crossed quotes, the number
    of clashing ticks for duplicate timestamps.
    """

    __tablename__ = "quality_findings"
    __table_args__ = (
        UniqueConstraint("market_id", "kind", "start_ts"),
        CheckConstraint(f"kind IN {FINDING_KINDS!r}", name="kind"),
        Index("ix_quality_findings_venue_start_ts", "venue", "start_ts"),
        Index("ix_quality_findings_start_ts", "start_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    #: The market's venue, copied so filtering and the per-venue metric need no join.
    venue: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    start_ts: Mapped[datetime]
    end_ts: Mapped[datetime]
    tick_count: Mapped[int]
    value: Mapped[float]
    detail: Mapped[str] = mapped_column(String(300))
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
