"""Signal queries shared by the API and the dashboard.

Signals are listed newest first by id (the order they were written): the primary key makes every
page a bounded index walk, filtered or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.models import Market, Signal


@dataclass(frozen=True, slots=True)
class SignalWithMarket:
    signal: Signal
    market: Market


def list_signals(
    session: Session,
    *,
    limit: int,
    strategy: str | None = None,
    market_id: int | None = None,
    venue: str | None = None,
    min_confidence: float | None = None,
    min_edge: float | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
) -> list[SignalWithMarket]:
    """Signals newest first; ``since``/``until`` bound ``signal_ts`` as ``[since, until)``."""
    stmt = select(Signal, Market).join(Market, Market.id == Signal.market_id)
    if strategy is not None:
        stmt = stmt.where(Signal.strategy == strategy)
    if market_id is not None:
        stmt = stmt.where(Signal.market_id == market_id)
    if venue is not None:
        stmt = stmt.where(Market.venue == venue)
    if min_confidence is not None:
        stmt = stmt.where(Signal.confidence >= min_confidence)
    if min_edge is not None:
        stmt = stmt.where(Signal.edge >= min_edge)
    if since is not None:
        stmt = stmt.where(Signal.signal_ts >= since)
    if until is not None:
        stmt = stmt.where(Signal.signal_ts < until)
    if before_id is not None:
        stmt = stmt.where(Signal.id < before_id)
    rows = session.execute(stmt.order_by(Signal.id.desc()).limit(limit)).all()
    return [SignalWithMarket(signal=signal, market=market) for signal, market in rows]


def get_signal(session: Session, signal_id: int) -> SignalWithMarket | None:
    """One signal with its market, or None."""
    row = session.execute(
        select(Signal, Market)
        .join(Market, Market.id == Signal.market_id)
        .where(Signal.id == signal_id)
    ).first()
    if row is None:
        return None
    signal, market = row
    return SignalWithMarket(signal=signal, market=market)
