"""Resolved markets and their ticks from the database, as training data."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.forecasting.dataset import MARKETS_SCHEMA, ResolvedMarkets
from edgewatch.models import Market, OddsTick
from edgewatch.strategies.base import TICK_SCHEMA

_CHUNK = 500


def load_resolved(
    session: Session, *, start: datetime | None = None, end: datetime | None = None
) -> ResolvedMarkets:
    """Markets resolved YES or NO with ``resolved_at`` in ``[start, end)``, and their ticks.

    Only ticks before the market's close (and before its resolution) are read: nothing a trader
    could not have seen while the market was open.
    """
    stmt = select(Market.id, Market.close_time, Market.resolved_at, Market.resolution).where(
        Market.status == "resolved",
        Market.resolution.in_(("yes", "no")),
        Market.resolved_at.is_not(None),
    )
    if start is not None:
        stmt = stmt.where(Market.resolved_at >= start)
    if end is not None:
        stmt = stmt.where(Market.resolved_at < end)
    rows = session.execute(stmt.order_by(Market.id)).all()
    markets = pl.DataFrame(
        {
            "market_id": [row.id for row in rows],
            "close_time": [row.close_time for row in rows],
            "resolved_at": [row.resolved_at for row in rows],
            "outcome": [1 if row.resolution == "yes" else 0 for row in rows],
        },
        schema=MARKETS_SCHEMA,
    )
    parts = [pl.DataFrame(schema=TICK_SCHEMA)]
    ids = [row.id for row in rows]
    for offset in range(0, len(ids), _CHUNK):
        chunk = session.execute(
            select(
                OddsTick.market_id,
                OddsTick.tick_ts,
                OddsTick.bid,
                OddsTick.ask,
                OddsTick.last,
                OddsTick.volume,
                OddsTick.bid_size,
                OddsTick.ask_size,
            )
            .join(Market, Market.id == OddsTick.market_id)
            .where(
                OddsTick.market_id.in_(ids[offset : offset + _CHUNK]),
                OddsTick.tick_ts < Market.resolved_at,
                Market.close_time.is_(None) | (OddsTick.tick_ts < Market.close_time),
            )
            .order_by(OddsTick.market_id, OddsTick.tick_ts)
        ).all()
        parts.append(pl.DataFrame([tuple(r) for r in chunk], schema=TICK_SCHEMA, orient="row"))
    return ResolvedMarkets(ticks=pl.concat(parts), markets=markets)
