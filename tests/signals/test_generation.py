"""Signal generation is incremental, idempotent, audited — and finds the simulator's arbitrage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.audit import service as audit
from edgewatch.db.session import session_scope
from edgewatch.models import AuditEntry, Market, Signal
from edgewatch.signals.service import generate_signals
from edgewatch.strategies.cross_venue_arbitrage import CrossVenueArbitrage
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.fees import kalshi_fee, polymarket_fee
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import KALSHI, POLYMARKET, POLYMARKET_FEE_RATE, SimConfig, SimWorld

pytestmark = pytest.mark.both_backends
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(seconds=120)


@pytest.fixture
def world() -> SimWorld:
    return SimWorld(SimConfig(events=20, mispricing_rate=0.02))


def ingest(factory: sessionmaker[Session], world: SimWorld, start: datetime, end: datetime) -> None:
    with session_scope(factory) as session:
        ingest_window(session, SimVenue(world), since=start, until=end)


def generate(
    factory: sessionmaker[Session], since: datetime | None, until: datetime
) -> tuple[int, datetime | None]:
    with session_scope(factory) as session:
        result = generate_signals(
            session,
            [CrossVenueArbitrage()],
            since=since,
            until=until,
            lookback=LOOKBACK,
            high_confidence=0.8,
        )
    return result.stored, result.newest_tick


def test_rerunning_over_the_same_ticks_adds_no_signal(
    session_factory: sessionmaker[Session], world: SimWorld
) -> None:
    ingest(session_factory, world, NOW - timedelta(minutes=30), NOW)
    stored, _ = generate(session_factory, NOW - timedelta(minutes=30), NOW)
    again, _ = generate(session_factory, NOW - timedelta(minutes=30), NOW)
    assert stored > 0
    assert again == 0


def test_incremental_runs_equal_one_run_over_the_whole_window(
    session_factory: sessionmaker[Session], world: SimWorld
) -> None:
    start = NOW - timedelta(minutes=30)
    ingest(session_factory, world, start, NOW)
    cursor: datetime | None = start
    for minute in range(5, 31, 5):
        _, newest = generate(session_factory, cursor, start + timedelta(minutes=minute))
        cursor = newest or cursor
    with session_factory() as session:
        incremental = set(session.scalars(select(Signal.dedupe_key)))
    with session_scope(session_factory) as session:
        session.query(Signal).delete()
    generate(session_factory, start, NOW)
    with session_factory() as session:
        whole = set(session.scalars(select(Signal.dedupe_key)))
    assert incremental == whole and whole


def test_every_signal_is_audited_in_the_same_transaction(
    session_factory: sessionmaker[Session], world: SimWorld
) -> None:
    ingest(session_factory, world, NOW - timedelta(minutes=20), NOW)
    generate(session_factory, NOW - timedelta(minutes=20), NOW)
    with session_factory() as session:
        ids = set(session.scalars(select(Signal.id)))
        audited = {
            int(entry.subject_id)
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "signal.generated")
            )
        }
        assert ids and ids == audited
        assert audit.verify(session).ok


def test_signals_are_sane(session_factory: sessionmaker[Session], world: SimWorld) -> None:
    ingest(session_factory, world, NOW - timedelta(minutes=20), NOW)
    generate(session_factory, NOW - timedelta(minutes=20), NOW)
    with session_factory() as session:
        signals = session.scalars(select(Signal)).all()
        assert signals
        for signal in signals:
            assert 0 <= signal.confidence <= 1
            assert signal.edge > 0
            assert signal.paired_market_id is not None
            assert signal.expires_at > signal.signal_ts
            a = session.get_one(Market, signal.market_id)
            b = session.get_one(Market, signal.paired_market_id)
            assert a.venue != b.venue
            assert {"quote_a", "quote_b", "fees", "paired_side"} <= set(signal.inputs)


def test_each_signal_matches_an_injected_mispricing(
    session_factory: sessionmaker[Session], world: SimWorld
) -> None:
    """Outside injected mispricings the two venues agree within fees: no false arbitrage."""
    start = NOW - timedelta(minutes=60)
    ingest(session_factory, world, start, NOW)
    generate(session_factory, start, NOW)
    truth = world.truth(start - timedelta(hours=2), NOW)
    episodes = [
        (m["market_id"], datetime.fromisoformat(m["start"]), datetime.fromisoformat(m["end"]))
        for event in truth["events"]
        for m in event["mispricings"]
    ]
    with session_factory() as session:
        signals = session.scalars(select(Signal)).all()
        venue_ids = {k: v for k, v in session.execute(select(Market.id, Market.venue_market_id))}
        count = session.scalar(select(func.count()).select_from(Signal))
    assert count
    slack = timedelta(seconds=world.config.step_seconds * 3)
    for signal in signals:
        assert signal.paired_market_id is not None
        legs = {venue_ids[signal.market_id], venue_ids[signal.paired_market_id]}
        assert any(
            market in legs and begin <= signal.signal_ts <= end + slack
            for market, begin, end in episodes
        ), f"signal {signal.id} at {signal.signal_ts} matches no injected mispricing"


def best_edge(frame_a: dict[str, float], frame_b: dict[str, float], relation: str) -> float:
    """An independent oracle: the better covering pair's edge after both venues' fees."""
    if relation == "same":
        pairs = [
            (
                ("kalshi", frame_a["ask"], frame_a["ask_size"]),
                ("poly", 1 - frame_b["bid"], frame_b["bid_size"]),
            ),
            (
                ("poly", frame_b["ask"], frame_b["ask_size"]),
                ("kalshi", 1 - frame_a["bid"], frame_a["bid_size"]),
            ),
        ]
    else:
        pairs = [
            (
                ("kalshi", frame_a["ask"], frame_a["ask_size"]),
                ("poly", frame_b["ask"], frame_b["ask_size"]),
            ),
            (
                ("kalshi", 1 - frame_a["bid"], frame_a["bid_size"]),
                ("poly", 1 - frame_b["bid"], frame_b["bid_size"]),
            ),
        ]
    best = -1.0
    for legs in pairs:
        contracts = int(min(size for _, _, size in legs))
        fees = Decimal(0)
        for venue, price, _ in legs:
            if venue == "kalshi":
                fees += kalshi_fee(round(price, 6), contracts)
            else:
                fees += polymarket_fee(round(price, 6), contracts, rate=POLYMARKET_FEE_RATE)
        edge = 1 - legs[0][1] - legs[1][1] - float(fees) / contracts
        best = max(best, edge)
    return best


def merged_episodes(
    episodes: list[dict[str, Any]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    spans = sorted(
        (max(datetime.fromisoformat(e["start"]), start), min(datetime.fromisoformat(e["end"]), end))
        for e in episodes
    )
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in spans:
        if begin >= finish:
            continue
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def test_every_injected_mispricing_that_beats_fees_is_flagged(
    session_factory: sessionmaker[Session], world: SimWorld
) -> None:
    start = NOW - timedelta(minutes=60)
    ingest(session_factory, world, start, NOW)
    generate(session_factory, start, NOW)
    frame = world.tick_frame(start, NOW)
    quotes = {(row["venue_market_id"], row["tick_ts"]): row for row in frame.iter_rows(named=True)}
    with session_factory() as session:
        venue_ids = {k: v for k, v in session.execute(select(Market.id, Market.venue_market_id))}
        flagged = [
            (venue_ids[s.market_id], venue_ids[s.paired_market_id or 0], s.signal_ts)
            for s in session.scalars(select(Signal))
        ]
    profitable = 0
    for event in world.truth(start, NOW)["events"]:
        markets = event["markets"]
        if len(markets) < 2:
            continue
        a, b = markets[KALSHI], markets[POLYMARKET]
        relation = event["relations"][POLYMARKET]
        # Overlapping episodes on one link are one opportunity: a signal marks its start.
        for begin, end in merged_episodes(event["mispricings"], start, NOW):
            steps = [ts for (market, ts) in quotes if market == a and begin <= ts < end]
            edges = [
                best_edge(quotes[(a, ts)], quotes[(b, ts)], relation)
                for ts in steps
                if (b, ts) in quotes
                and quotes[(a, ts)]["bid"] <= quotes[(a, ts)]["ask"]
                and quotes[(b, ts)]["bid"] <= quotes[(b, ts)]["ask"]
            ]
            if not edges:
                continue
            hit = any({m1, m2} == {a, b} and begin <= ts < end for m1, m2, ts in flagged)
            if max(edges) > CrossVenueArbitrage().min_edge:
                profitable += 1
                assert hit, f"missed a profitable mispricing on {a}/{b} at {begin}"
    assert profitable > 0
