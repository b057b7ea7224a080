"""Ingest stores each tick once, quarantines bad records with a reason, and tracks lifecycles."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.db.session import session_scope
from edgewatch.models import Market, MarketLink, OddsTick, RejectedRecord
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.base import Capabilities, FetchResult, MarketRecord, TickRecord
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import SimConfig, SimWorld

pytestmark = pytest.mark.both_backends
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class ListVenue:
    """A venue that returns exactly what the test gives it."""

    name = "test"
    capabilities = Capabilities()

    def __init__(self, result: FetchResult) -> None:
        self.result = result

    def fetch(self, *, since: datetime | None, until: datetime) -> FetchResult:
        return self.result


def market(status: str = "open", **fields: object) -> MarketRecord:
    return MarketRecord(
        venue="test",
        venue_market_id="M1",
        title="Will it rain?",
        status=status,  # type: ignore[arg-type]
        close_time=NOW + timedelta(days=1),
        fee_schedule="kalshi",
        **fields,  # type: ignore[arg-type]
    )


def tick(
    minute: int, bid: float | None = 0.4, ask: float | None = 0.45, last: float | None = 0.42
) -> TickRecord:
    return TickRecord("test", "M1", NOW + timedelta(minutes=minute), bid, ask, last=last)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_ingesting_the_same_window_twice_stores_each_tick_once(
    session_factory: sessionmaker[Session],
) -> None:
    venue = SimVenue(SimWorld(SimConfig(events=10)))
    window = {"since": NOW - timedelta(minutes=10), "until": NOW}
    with session_scope(session_factory) as session:
        first = ingest_window(session, venue, **window)
    with session_scope(session_factory) as session:
        second = ingest_window(session, venue, **window)
        stored = count(session, OddsTick)
    assert first.rows_stored > 0
    assert second.rows_stored == 0
    assert stored == first.rows_stored
    assert second.rows_in == first.rows_in


def test_overlapping_windows_store_only_the_new_part(
    session_factory: sessionmaker[Session],
) -> None:
    venue = SimVenue(SimWorld(SimConfig(events=10)))
    with session_scope(session_factory) as session:
        ingest_window(session, venue, since=NOW - timedelta(minutes=10), until=NOW)
    with session_scope(session_factory) as session:
        later = ingest_window(
            session, venue, since=NOW - timedelta(minutes=5), until=NOW + timedelta(minutes=5)
        )
        total = count(session, OddsTick)
    with session_scope(session_factory) as session:
        direct = ingest_window(
            session, venue, since=NOW - timedelta(minutes=10), until=NOW + timedelta(minutes=5)
        )
    assert direct.rows_stored == 0
    assert total == direct.rows_in - direct.rows_rejected
    assert 0 < later.rows_stored < later.rows_in


def test_bad_ticks_are_quarantined_with_their_reason_and_payload(
    session_factory: sessionmaker[Session],
) -> None:
    result = FetchResult(
        markets=[market()],
        ticks=[
            tick(0),
            tick(1, bid=0.6, ask=0.5),
            tick(2, bid=float("nan")),
            tick(3, ask=1.5),
            tick(4, bid=None, ask=None, last=None),
            TickRecord("test", "UNKNOWN", NOW, 0.1, 0.2),
        ],
    )
    with session_scope(session_factory) as session:
        outcome = ingest_window(session, ListVenue(result), since=None, until=NOW)
    assert (outcome.rows_in, outcome.rows_stored, outcome.rows_rejected) == (6, 1, 5)
    with session_factory() as session:
        rejected = session.scalars(select(RejectedRecord).order_by(RejectedRecord.id)).all()
        assert [r.reason for r in rejected] == [
            "crossed_quote",
            "not_finite",
            "out_of_range",
            "empty_quote",
            "unknown_market",
        ]
        assert json.loads(rejected[0].payload)["bid"] == 0.6
        assert count(session, OddsTick) == 1


def test_market_lifecycle_moves_forward_only(session_factory: sessionmaker[Session]) -> None:
    resolved = market(status="resolved", resolution="yes", resolved_at=NOW)
    for record in (market(), resolved, market()):
        with session_scope(session_factory) as session:
            ingest_window(session, ListVenue(FetchResult(markets=[record])), since=None, until=NOW)
    with session_factory() as session:
        stored = session.scalars(select(Market)).one()
        assert (stored.status, stored.resolution, stored.resolved_at) == ("resolved", "yes", NOW)


def test_ingest_records_links_and_newest_tick_per_market(
    session_factory: sessionmaker[Session],
) -> None:
    venue = SimVenue(SimWorld(SimConfig(events=10)))
    with session_scope(session_factory) as session:
        ingest_window(session, venue, since=NOW - timedelta(minutes=2), until=NOW)
    with session_scope(session_factory) as session:
        again = ingest_window(session, venue, since=NOW - timedelta(minutes=2), until=NOW)
    with session_factory() as session:
        links = session.scalars(select(MarketLink)).all()
        assert links and all(link.status == "confirmed" for link in links)
        assert again.details["links_added"] == 0
        newest = session.execute(
            select(OddsTick.market_id, func.max(OddsTick.tick_ts)).group_by(OddsTick.market_id)
        ).all()
        for market_id, ts in newest:
            assert session.get_one(Market, market_id).last_tick_at == ts
