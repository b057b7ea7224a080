"""Quality checks over stored data: what they find, that they store it once, and the metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.runner import run_pipeline
from edgewatch.models import Market, QualityFinding, RejectedRecord
from edgewatch.observability.metrics import REGISTRY
from edgewatch.quality.checks import Thresholds
from edgewatch.quality.service import run_checks
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.ticks.ingest import ingest_window
from edgewatch.ticks.store import store_ticks
from edgewatch.venues.base import Capabilities, FetchResult, MarketRecord, TickRecord
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import SimConfig, SimWorld

pytestmark = pytest.mark.both_backends
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(seconds=10)


def findings(session: Session) -> list[tuple[int, str, datetime, datetime]]:
    rows = session.execute(
        select(
            QualityFinding.market_id,
            QualityFinding.kind,
            QualityFinding.start_ts,
            QualityFinding.end_ts,
        ).order_by(QualityFinding.market_id, QualityFinding.start_ts, QualityFinding.kind)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def gauge(venue: str, kind: str) -> float | None:
    return REGISTRY.get_sample_value(
        "edgewatch_data_quality_issues", {"venue": venue, "kind": kind}
    )


def store_series(session: Session, market_id: int, start: datetime, quotes: list[float]) -> None:
    """One tick every 10 s with bid ``q`` and ask ``q + 0.02``; ``nan`` leaves a hole."""
    rows = [
        (market_id, start + n * STEP, q, q + 0.02, None, None, None, None)
        for n, q in enumerate(quotes)
        if q == q
    ]
    store_ticks(session, pl.DataFrame(rows, schema=TICK_SCHEMA, orient="row"))


def add_market(session_factory: sessionmaker[Session], venue: str = "test") -> int:
    with session_scope(session_factory) as session:
        market = Market(venue=venue, venue_market_id="M1", title="Will it rain?")
        session.add(market)
        session.flush()
        return market.id


def test_gaps_stale_quotes_and_jumps_in_stored_ticks_are_found_and_stored_once(
    session_factory: sessionmaker[Session],
) -> None:
    market = add_market(session_factory)
    start = NOW - timedelta(hours=3)
    wiggle = [0.40 + (n % 3) / 100 for n in range(1000)]
    quotes = wiggle[:200] + [float("nan")] * 60 + wiggle[260:400] + [0.45] * 400 + wiggle[800:]
    quotes[900:] = [q + 0.3 for q in quotes[900:]]
    with session_scope(session_factory) as session:
        store_series(session, market, start, quotes)
    at = [start + n * STEP for n in range(1000)]
    windows = [(NOW - timedelta(hours=4), NOW), (NOW - timedelta(hours=2), NOW)]
    for lo, hi in [*windows, windows[0]]:
        with session_scope(session_factory) as session:
            run_checks(session, start=lo, end=hi, thresholds=Thresholds(), now=NOW)
    with session_factory() as session:
        stored = findings(session)
    assert stored == [
        (market, "gap", at[199], at[260]),
        (market, "stale_quote", at[400], at[799]),
        (market, "jump", at[899], at[900]),
    ]


def test_the_simulators_corrupt_quotes_are_found_in_quarantine(
    session_factory: sessionmaker[Session],
) -> None:
    world = SimWorld(SimConfig(events=8, bad_record_rate=0.02))
    since = NOW - timedelta(minutes=30)
    with session_scope(session_factory) as session:
        ingest_window(session, SimVenue(world), since=since, until=NOW)
    truth = {
        (quote["market_id"], datetime.fromisoformat(quote["ts"]))
        for event in world.truth(since, NOW)["events"]
        for quote in event["corrupt_quotes"]
    }
    assert len(truth) > 5
    # Quarantine is read by when records were quarantined (now), ticks by their own time.
    window = {"start": since - timedelta(hours=1), "end": utcnow() + timedelta(seconds=1)}
    with session_scope(session_factory) as session:
        first = run_checks(session, **window, thresholds=Thresholds(), now=NOW)
    with session_scope(session_factory) as session:
        again = run_checks(session, **window, thresholds=Thresholds(), now=NOW)
    with session_factory() as session:
        found = session.execute(
            select(
                Market.venue_market_id,
                QualityFinding.start_ts,
                QualityFinding.venue,
                QualityFinding.kind,
            ).join(Market, Market.id == QualityFinding.market_id)
        ).all()
    # Each corrupt quote (bid pushed above ask, sometimes above 1) is one finding; honest
    # simulator quotes have no problem at all.
    assert sorted((market, ts) for market, ts, *_ in found) == sorted(truth)
    assert {kind for *_, kind in found} <= {"crossed_quote", "out_of_range"}
    assert first.new == len(truth) and (again.new, again.extended) == (0, 0)
    for venue in {venue for _, _, venue, _ in found}:
        for kind in ("crossed_quote", "out_of_range"):
            count = sum(1 for _, _, v, k in found if (v, k) == (venue, kind))
            assert (gauge(venue, kind) or 0) == count


class ListVenue:
    name = "test"
    capabilities = Capabilities()

    def __init__(self, result: FetchResult) -> None:
        self.result = result

    def fetch(self, *, since: datetime | None, until: datetime) -> FetchResult:
        return self.result


def test_conflicting_quotes_at_one_instant_are_quarantined_and_found(
    session_factory: sessionmaker[Session],
) -> None:
    market = MarketRecord(
        venue="test",
        venue_market_id="M1",
        title="Will it rain?",
        status="open",
        close_time=NOW + timedelta(days=1),
    )
    ticks = [
        TickRecord("test", "M1", NOW, 0.40, 0.45),
        TickRecord("test", "M1", NOW, 0.40, 0.45),  # an exact repeat: harmless
        TickRecord("test", "M1", NOW, 0.41, 0.46),  # a different quote at the same time
        TickRecord("test", "M1", NOW + STEP, 0.40, 0.45),
    ]
    venue = ListVenue(FetchResult(markets=[market], ticks=ticks))
    with session_scope(session_factory) as session:
        outcome = ingest_window(session, venue, since=None, until=NOW + STEP)
    assert (outcome.rows_stored, outcome.rows_rejected) == (2, 1)
    window = {"start": NOW - timedelta(hours=1), "end": utcnow() + timedelta(seconds=1)}
    with session_scope(session_factory) as session:
        reasons = list(session.scalars(select(RejectedRecord.reason)))
        run_checks(session, **window, thresholds=Thresholds(), now=NOW)
    with session_factory() as session:
        stored = session.scalars(select(QualityFinding)).all()
    assert reasons == ["duplicate_timestamp"]
    assert [(f.kind, f.start_ts, f.tick_count) for f in stored] == [("duplicate_timestamp", NOW, 2)]


def test_the_data_quality_pipeline_resumes_from_its_cursor_without_duplicates(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    market = add_market(session_factory)
    quotes = [0.4, 0.41] * 30 + [0.45] * 500
    with session_scope(session_factory) as session:
        store_series(session, market, NOW - timedelta(hours=2), quotes)
    spec = available_pipelines(settings)["data-quality"]
    first = run_pipeline(spec.name, spec.step, settings=settings, engine=engine, now=NOW)
    later = NOW + timedelta(minutes=30)
    second = run_pipeline(spec.name, spec.step, settings=settings, engine=engine, now=later)
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert first.rows_stored == 1 and second.rows_stored == 0
    assert first.details["found"] == {"stale_quote": 1}
    assert second.cursor == later.isoformat()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(QualityFinding)) == 1


def test_a_reversed_window_is_refused(session_factory: sessionmaker[Session]) -> None:
    from edgewatch.errors import InvalidInput

    with session_scope(session_factory) as session, pytest.raises(InvalidInput):
        run_checks(session, start=NOW, end=NOW, thresholds=Thresholds(), now=NOW)
