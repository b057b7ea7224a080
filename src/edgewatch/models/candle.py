"""Candles: per-market OHLC rollups of the ticks, one row per market, width and time bucket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.models.base import Base

#: The widths kept, in seconds: 1-minute and 1-hour candles.
CANDLE_WIDTHS = (60, 3600)


class Candle(Base):
    """OHLC of a market's price over ``[bucket_start, bucket_start + width_seconds)``.

    The price of a tick is its mid, ``(bid + ask) / 2``, or ``last`` when a side is missing;
    ticks with neither are left out. ``bid``, ``ask`` and ``volume`` are those of the bucket's
    last priced tick (``volume`` is the venue's cumulative traded volume, so the volume traded
    between two candles is the difference of theirs). Kept by ``ticks.candles`` as ticks are
    stored; never written anywhere else.
    """

    __tablename__ = "candles"
    __table_args__ = (CheckConstraint("width_seconds IN (60, 3600)", name="width"),)

    # Primary key order serves the one query: a market's candles of one width over a time range.
    # No foreign key: candles are derived from ticks that were checked against ``markets`` when
    # stored, and checking (and key-share locking) the market again per candle row cost a fifth
    # of the rollup's time. Nothing deletes markets; code that ever does must delete candles too.
    market_id: Mapped[int] = mapped_column(primary_key=True)
    width_seconds: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(primary_key=True)
    open: Mapped[float]
    high: Mapped[float]
    low: Mapped[float]
    close: Mapped[float]
    bid: Mapped[float | None]
    ask: Mapped[float | None]
    volume: Mapped[float | None]
    tick_count: Mapped[int]
