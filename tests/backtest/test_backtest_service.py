"""Stored backtest runs over data ingested from the simulator: run, store, rerun, sweep, walk."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.backtest import run_config, service, sweep
from edgewatch.backtest.records import BacktestConfig
from edgewatch.db.session import session_scope
from edgewatch.errors import Conflict, InvalidInput
from edgewatch.features import FEATURE_SET_VERSION
from edgewatch.models import Market, OddsTick
from edgewatch.models.backtest import BacktestEquity, BacktestRun, BacktestTrade
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import SimConfig, SimWorld

END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=40)
CONFIG = BacktestConfig(step=timedelta(minutes=2))


def ingest_sim(factory: sessionmaker[Session]) -> None:
    """Forty minutes of the simulator: markets open, trade, and some of them resolve."""
    venue = SimVenue(SimWorld(SimConfig(events=10)))
    with session_scope(factory) as session:
        ingest_window(session, venue, since=START, until=END)


@pytest.fixture
def data(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    ingest_sim(session_factory)
    return session_factory


def run_once(factory: sessionmaker[Session], **overrides: object) -> BacktestRun:
    arguments: dict[str, object] = {"strategy": "mean_reversion", "seed": 7, "config": CONFIG}
    arguments.update(overrides)
    with session_scope(factory) as session:
        return service.run_and_store(session, **arguments)  # type: ignore[arg-type]


def count(session: Session, model: type, run_id: int) -> int:
    column = model.run_id  # type: ignore[attr-defined]
    return session.scalar(select(func.count()).select_from(model).where(column == run_id)) or 0


@pytest.mark.both_backends
def test_a_run_is_stored_with_metrics_ledger_equity_and_what_reproduces_it(
    data: sessionmaker[Session], session: Session
) -> None:
    run = run_once(data)
    stored = session.get_one(BacktestRun, run.id)
    assert stored.status == "succeeded"
    assert stored.finished_at is not None and stored.progress == 1.0
    assert stored.strategy_version == "1"
    assert stored.feature_set_version == FEATURE_SET_VERSION
    assert stored.code_version.startswith("0.1.0")
    assert stored.config == run_config.config_to_json(CONFIG)
    assert stored.data_fingerprint is not None and len(stored.data_fingerprint) == 64
    assert stored.window_start is not None and stored.window_end is not None
    assert START < stored.window_start < stored.window_end <= END
    assert stored.metrics["seed"] == 7
    summary = stored.summary or {}
    assert summary["fills"] > 0, "the window should trade"
    trades = list(
        session.scalars(
            select(BacktestTrade).where(BacktestTrade.run_id == run.id).order_by(BacktestTrade.seq)
        )
    )
    kinds = [t.kind for t in trades]
    assert kinds.count("fill") == summary["fills"] == stored.metrics["fills"]
    assert kinds.count("settlement") == summary["settlements"]
    assert kinds.count("mark") == stored.metrics["unresolved_positions"]
    assert [t.seq for t in trades] == list(range(len(trades)))
    assert [t.ts for t in trades] == sorted(t.ts for t in trades)
    fees = sum((t.fee for t in trades), Decimal(0))
    assert fees == Decimal(stored.metrics["fees_paid"])
    # Cash: the start, plus every fill and settlement, plus $1 per netted YES+NO pair.
    cash_moves = sum((t.cash_flow for t in trades if t.kind != "mark"), Decimal(0))
    assert Decimal(summary["final_cash"]) - Decimal(10_000) >= cash_moves
    # One equity point per step of the simulated clock.
    steps = math.ceil((stored.window_end - stored.window_start) / CONFIG.step)
    assert count(session, BacktestEquity, run.id) == steps


@pytest.mark.both_backends
def test_rerun_replays_the_stored_run_with_identical_metrics(
    data: sessionmaker[Session],
) -> None:
    first = run_once(data)
    with session_scope(data) as session:
        second = service.rerun(session, first.id)
    assert second.id != first.id
    assert second.rerun_of == first.id
    assert second.metrics == first.metrics
    assert second.data_fingerprint == first.data_fingerprint
    assert (second.window_start, second.window_end) == (first.window_start, first.window_end)
    assert not any("changed" in w for w in second.warnings or [])
    with session_scope(data) as session:
        reloaded = [session.get_one(BacktestRun, r.id).metrics for r in (first, second)]
    assert reloaded[0] == reloaded[1]


def test_rerun_warns_when_the_stored_data_changed(
    data: sessionmaker[Session], session: Session
) -> None:
    first = run_once(data)
    market_id = session.scalars(select(Market.id).order_by(Market.id)).first()
    assert market_id is not None and first.window_start is not None
    late = first.window_start + timedelta(microseconds=1)
    session.add(OddsTick(market_id=market_id, tick_ts=late, bid=0.4, ask=0.6, last=0.5))
    session.commit()
    with session_scope(data) as scope:
        again = service.rerun(scope, first.id)
    assert again.data_fingerprint != first.data_fingerprint
    assert any(f"changed since run {first.id}" in w for w in again.warnings or [])


def test_the_engine_gets_outcomes_of_resolved_markets_only(
    data: sessionmaker[Session], session: Session
) -> None:
    inputs = service.load_inputs(session)
    statuses = dict(session.execute(select(Market.id, Market.status)).tuples().all())
    resolved = {r.market_id for r in inputs.resolutions}
    assert resolved, "the simulated window should resolve some markets"
    assert {statuses[m] for m in resolved} <= {"resolved", "void"}
    assert any(statuses[m] == "open" for m in inputs.markets)
    assert not any(statuses[m] == "open" for m in resolved)


def test_bad_strategy_parameters_and_empty_windows_are_refused(
    data: sessionmaker[Session], session: Session
) -> None:
    with pytest.raises(InvalidInput, match="unknown strategy 'nope'"):
        service.run_and_store(session, strategy="nope")
    with pytest.raises(InvalidInput, match="unknown parameter"):
        service.run_and_store(session, strategy="momentum", params={"bogus": 1})
    with pytest.raises(InvalidInput, match="no ticks between"):
        service.run_and_store(
            session, strategy="momentum", start=END + timedelta(days=1), end=END + timedelta(days=2)
        )
    session.rollback()
    with pytest.raises(InvalidInput, match="unknown backtest setting"):
        run_config.config_from_json({"stepp_seconds": 1})


def test_a_queued_run_cancels_at_once_and_a_finished_one_cannot(
    data: sessionmaker[Session],
) -> None:
    done = run_once(data)
    with session_scope(data) as session:
        queued = service.new_run(session, strategy="momentum", start=None, end=None)
        cancelled = service.request_cancel(session, queued.id)
        assert cancelled.status == "cancelled" and cancelled.cancel_requested
        with pytest.raises(Conflict):
            service.request_cancel(session, done.id)


def test_cancelling_through_the_hooks_stops_the_replay(data: sessionmaker[Session]) -> None:
    hooks = service.Hooks(cancelled=lambda: True, poll_seconds=0.0)
    with pytest.raises(service.BacktestCancelled):
        run_once(data, hooks=hooks)


def test_progress_is_reported_over_simulated_time(data: sessionmaker[Session]) -> None:
    seen: list[float] = []
    run_once(data, hooks=service.Hooks(progress=seen.append))
    assert seen == sorted(seen)
    assert 0 <= seen[0] < 0.5 and seen[-1] == 1.0


GRID = {"entry_zscore": [1.5, 2.5], "reversion": [0.5, 0.8]}


def test_grid_and_random_points_are_deterministic() -> None:
    points = sweep.grid_points(GRID, base={"min_edge": 0.02})
    assert points == [
        {"entry_zscore": 1.5, "min_edge": 0.02, "reversion": 0.5},
        {"entry_zscore": 1.5, "min_edge": 0.02, "reversion": 0.8},
        {"entry_zscore": 2.5, "min_edge": 0.02, "reversion": 0.5},
        {"entry_zscore": 2.5, "min_edge": 0.02, "reversion": 0.8},
    ]
    drawn = sweep.random_points(GRID, 3, seed=5)
    assert drawn == sweep.random_points(GRID, 3, seed=5)
    assert len({tuple(sorted(p.items())) for p in drawn}) == 3
    assert len(sweep.random_points(GRID, 10, seed=5)) == 4
    with pytest.raises(InvalidInput):
        sweep.grid_points({})


def test_a_parallel_sweep_stores_exactly_what_a_serial_one_does(
    data: sessionmaker[Session],
) -> None:
    reports = []
    for workers in (1, 2):
        with session_scope(data) as session:
            reports.append(
                sweep.sweep(
                    session, strategy="mean_reversion", grid=GRID, seed=3, config=CONFIG,
                    workers=workers,
                )
            )  # fmt: skip
    serial, parallel = reports
    assert len(serial.trials) == 4
    assert [(t.params, t.metrics, t.deflated_sharpe) for t in serial.trials] == [
        (t.params, t.metrics, t.deflated_sharpe) for t in parallel.trials
    ]
    assert {t.run_id for t in serial.trials}.isdisjoint(t.run_id for t in parallel.trials)
    with session_scope(data) as session:
        for trial in parallel.trials:
            run = session.get_one(BacktestRun, trial.run_id)
            assert run.status == "succeeded" and run.params == trial.params
            assert run.metrics == trial.metrics
            assert count(session, BacktestEquity, run.id) > 0


def test_walk_forward_windows_roll_by_the_test_span() -> None:
    windows = sweep.walk_forward_windows(
        START,
        START + timedelta(minutes=40),
        train=timedelta(minutes=20),
        test=timedelta(minutes=10),
    )
    assert windows == [
        (START, START + timedelta(minutes=20), START + timedelta(minutes=30)),
        (
            START + timedelta(minutes=10),
            START + timedelta(minutes=30),
            START + timedelta(minutes=40),
        ),
    ]
    with pytest.raises(InvalidInput, match="shorter than one train"):
        sweep.walk_forward_windows(
            START,
            START + timedelta(minutes=5),
            train=timedelta(minutes=4),
            test=timedelta(minutes=2),
        )
    with pytest.raises(InvalidInput, match="makes 3,600 walk-forward windows; at most 1,000"):
        sweep.walk_forward_windows(
            START, START + timedelta(hours=2), train=timedelta(hours=1), test=timedelta(seconds=1)
        )


def test_walk_forward_stores_and_reports_only_the_test_windows(
    data: sessionmaker[Session],
) -> None:
    with session_scope(data) as session:
        report = sweep.walk_forward(
            session,
            strategy="mean_reversion",
            train=timedelta(minutes=15),
            test=timedelta(minutes=8),
            grid={"entry_zscore": [1.5, 2.5]},
            seed=1,
            config=CONFIG,
        )
    assert len(report.windows) >= 2
    replayed = [w for w in report.windows if w.run_id is not None]
    assert replayed
    with session_scope(data) as session:
        for window in report.windows:
            assert window.test_start - window.train_start == timedelta(minutes=15)
            assert window.test_end - window.test_start == timedelta(minutes=8)
            assert window.params["entry_zscore"] in (1.5, 2.5)
            if window.run_id is None:
                continue
            run = session.get_one(BacktestRun, window.run_id)
            assert (run.window_start, run.window_end) == (window.test_start, window.test_end)
            assert run.metrics == window.metrics
        stored = session.scalar(select(func.count()).select_from(BacktestRun))
    assert stored == len(replayed), "train windows are in-sample and never stored"
    totals = report.out_of_sample()
    assert Decimal(totals["pnl"]) == sum(
        (Decimal(w.metrics["pnl"]) for w in replayed if w.metrics), Decimal(0)
    )
