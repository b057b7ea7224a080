"""Single-market strategies run live when settings name them, with their default parameters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from edgewatch.clock import utcnow
from edgewatch.config import Settings, load_settings
from edgewatch.errors import ConfigError
from edgewatch.jobs.pipelines import get_pipeline
from edgewatch.jobs.runner import run_pipeline
from edgewatch.models import Signal
from edgewatch.signals.tasks import live_strategies
from edgewatch.strategies.mean_reversion import MeanReversion


def test_settings_choose_the_live_strategies(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"live_strategies": ["mean_reversion", "momentum", "cross_venue_convergence"]}
    )
    strategies = live_strategies(configured)
    assert [s.name for s in strategies] == ["mean_reversion", "momentum", "cross_venue_convergence"]
    assert strategies[0] == MeanReversion()  # the strategy's own defaults


def test_unknown_or_model_strategies_are_refused_at_start() -> None:
    with pytest.raises(ConfigError, match=r"unknown strategy.*fade"):
        load_settings(live_strategies="mean_reversion,fade")
    with pytest.raises(ConfigError, match="EDGEWATCH_SIGNAL_MODEL"):
        load_settings(live_strategies="model_edge")


def test_enabling_mean_reversion_emits_its_signals_on_simulator_data(
    settings: Settings, engine: Engine
) -> None:
    configured = settings.model_copy(
        update={"live_strategies": ["cross_venue_arbitrage", "mean_reversion"], "sim_events": 60}
    )
    now = utcnow()
    for step in ("ingest-sim", "generate-signals"):
        run = run_pipeline(
            step, get_pipeline(configured, step).step, settings=configured, engine=engine, now=now
        )
        assert run.status == "succeeded", run.error
    with Session(engine) as session:
        counts = dict(
            session.execute(select(Signal.strategy, func.count()).group_by(Signal.strategy)).all()
        )
    assert counts.get("mean_reversion", 0) > 0, counts
    assert counts.get("cross_venue_arbitrage", 0) > 0, counts


def test_by_default_only_arbitrage_runs(settings: Settings, engine: Engine) -> None:
    now = utcnow() + timedelta(seconds=1)
    for step in ("ingest-sim", "generate-signals"):
        run_pipeline(
            step, get_pipeline(settings, step).step, settings=settings, engine=engine, now=now
        )
    with Session(engine) as session:
        strategies = set(session.scalars(select(Signal.strategy).distinct()))
    assert strategies <= {"cross_venue_arbitrage"}
