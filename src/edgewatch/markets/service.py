"""Keeping the market catalogue and cross-venue links current from venue records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from edgewatch.models import Market, MarketLink
from edgewatch.venues.base import LinkRecord, MarketRecord

MarketKey = tuple[str, str]

#: Lifecycle order; a market never moves backwards (a late "open" after "resolved" is stale data).
_STAGE = {"open": 0, "closed": 1, "pending_resolution": 2, "resolved": 3, "void": 3}
_UPDATABLE = (
    "title",
    "event_id",
    "category",
    "rules",
    "close_time",
    "fee_schedule",
    "fee_multiplier",
    "fee_rate",
    "tick_size",
)


def _chunks(items: Sequence[MarketKey], size: int = 500) -> Iterable[Sequence[MarketKey]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def market_ids(session: Session, keys: Iterable[MarketKey]) -> dict[MarketKey, int]:
    """Map (venue, venue market id) to our market id for the keys that exist."""
    wanted = sorted(set(keys))
    found: dict[MarketKey, int] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(Market.venue, Market.venue_market_id, Market.id).where(
                tuple_(Market.venue, Market.venue_market_id).in_(chunk)
            )
        )
        found.update({(venue, vid): id_ for venue, vid, id_ in rows})
    return found


def upsert_markets(session: Session, records: Sequence[MarketRecord]) -> dict[MarketKey, int]:
    """Insert new markets and move known ones forward in their lifecycle; returns their ids."""
    by_key = {(r.venue, r.venue_market_id): r for r in records}
    existing: dict[MarketKey, Market] = {}
    for chunk in _chunks(sorted(by_key)):
        for market in session.scalars(
            select(Market).where(tuple_(Market.venue, Market.venue_market_id).in_(chunk))
        ):
            existing[(market.venue, market.venue_market_id)] = market
    for key, record in by_key.items():
        if key not in existing:
            existing[key] = Market(venue=record.venue, venue_market_id=record.venue_market_id)
            session.add(existing[key])
        market = existing[key]
        for name in _UPDATABLE:
            value = getattr(record, name)
            if getattr(market, name) != value and value is not None:
                setattr(market, name, value)
        if market.status is None or _STAGE[record.status] >= _STAGE[market.status]:
            market.status = record.status
            if record.resolution is not None:
                market.resolution = record.resolution
                market.resolved_at = record.resolved_at
    session.flush()
    return {key: market.id for key, market in existing.items()}


def upsert_links(
    session: Session, records: Sequence[LinkRecord], *, source: str, ids: dict[MarketKey, int]
) -> int:
    """Add links we have not seen; existing links keep their review state. Returns links added."""
    pairs = {
        (ids[(r.venue_a, r.market_a)], ids[(r.venue_b, r.market_b)]): r
        for r in records
        if (r.venue_a, r.market_a) in ids and (r.venue_b, r.market_b) in ids
    }
    if not pairs:
        return 0
    known = set(
        session.execute(
            select(MarketLink.market_a_id, MarketLink.market_b_id).where(
                tuple_(MarketLink.market_a_id, MarketLink.market_b_id).in_(list(pairs))
            )
        ).tuples()
    )
    added = 0
    for (a, b), record in pairs.items():
        if (a, b) not in known:
            session.add(
                MarketLink(
                    market_a_id=a,
                    market_b_id=b,
                    relation=record.relation,
                    confidence=record.confidence,
                    status=record.status,
                    source=source,
                )
            )
            added += 1
    session.flush()
    return added
