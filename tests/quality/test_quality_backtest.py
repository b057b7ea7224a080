"""A backtest over a window with a hole in its data says so in its warnings and summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.backtest import service
from edgewatch.backtest.records import BacktestConfig
from edgewatch.db.session import session_scope
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import SimConfig, SimWorld

END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=40)


def ingest(factory: sessionmaker[Session], windows: list[tuple[datetime, datetime]]) -> None:
    venue = SimVenue(SimWorld(SimConfig(events=6, bad_record_rate=0.0)))
    for since, until in windows:
        with session_scope(factory) as session:
            ingest_window(session, venue, since=since, until=until)


def backtest(factory: sessionmaker[Session]) -> tuple[list[str], int]:
    with session_scope(factory) as session:
        run = service.run_and_store(
            session,
            strategy="mean_reversion",
            start=START,
            end=END,
            config=BacktestConfig(step=timedelta(minutes=2)),
        )
        return list(run.warnings or []), run.summary["data_gaps"]


@pytest.mark.both_backends
def test_gaps_in_the_window_are_reported(session_factory: sessionmaker[Session]) -> None:
    hole = (START + timedelta(minutes=10), START + timedelta(minutes=25))
    ingest(session_factory, [(START, hole[0]), (hole[1], END)])
    warnings, count = backtest(session_factory)
    gaps = [line for line in warnings if line.startswith("data gap")]
    assert count > 0 and gaps
    assert f"to {(hole[1] + timedelta(seconds=5)).isoformat()}" in gaps[0]
    assert len(gaps) == min(count, service.MAX_GAP_WARNINGS) + (count > service.MAX_GAP_WARNINGS)


def test_a_window_without_gaps_has_no_gap_warning(session_factory: sessionmaker[Session]) -> None:
    ingest(session_factory, [(START, END)])
    warnings, count = backtest(session_factory)
    assert count == 0
    assert not [line for line in warnings if line.startswith("data gap")]
