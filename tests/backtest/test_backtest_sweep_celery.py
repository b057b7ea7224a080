"""A sweep on Celery workers gives the same result as one in local processes (issue 5, point 5)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from celery_worker import (
    POSTGRES_ADMIN_URL,
    REDIS_TEST_URL,
    Worker,
    celery_worker,
    postgres_database,
    redis_url,
    worker_env,
)
from edgewatch.backtest import run_config, service, sweep
from edgewatch.backtest.records import BacktestConfig
from edgewatch.config import Settings
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import EdgewatchError, InvalidInput
from edgewatch.jobs.trials import CeleryTrials, pack_outcome, unpack_outcome
from edgewatch.models.backtest import BacktestRun
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import SimConfig, SimWorld

pytestmark = pytest.mark.skipif(
    not (POSTGRES_ADMIN_URL and REDIS_TEST_URL),
    reason="needs EDGEWATCH_TEST_POSTGRES_URL and EDGEWATCH_TEST_REDIS_URL",
)
REDIS_DB = 13
END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=40)
CONFIG = BacktestConfig(step=timedelta(minutes=2))
GRID = {"entry_zscore": [1.5, 2.5], "reversion": [0.3, 0.6]}
SECRET = "test-secret-key-not-a-placeholder"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with postgres_database() as url:
        engine = create_db_engine(url, pool_size=1)
        venue = SimVenue(SimWorld(SimConfig(events=10)))
        with session_scope(make_session_factory(engine)) as session:
            ingest_window(session, venue, since=START, until=END)
        engine.dispose()
        yield worker_env(
            database_url=url,
            broker=redis_url(REDIS_DB),
            data_dir=tmp_path_factory.mktemp("sweep-worker"),
        )


@pytest.fixture(scope="module")
def worker(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    log = tmp_path_factory.mktemp("sweep-worker-log") / "worker.log"
    with celery_worker(env, log, concurrency=2, queues="backtests") as running:
        yield running


@pytest.fixture(scope="module")
def caller_settings(env: dict[str, str]) -> Settings:
    return Settings(
        environment="test",
        secret_key=SECRET,  # type: ignore[arg-type]
        database_url=env["EDGEWATCH_DATABASE_URL"],
        redis_url=env["EDGEWATCH_REDIS_URL"],
        data_dir=Path(env["EDGEWATCH_DATA_DIR"]),
    )


@pytest.fixture(scope="module")
def db(env: dict[str, str]) -> Iterator[Engine]:
    engine = create_db_engine(env["EDGEWATCH_DATABASE_URL"], pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(db: Engine) -> sessionmaker[Session]:
    return make_session_factory(db)


def test_a_sweep_on_celery_workers_equals_the_same_sweep_in_local_processes(
    worker: Worker, caller_settings: Settings, factory: sessionmaker[Session]
) -> None:
    remote = sweep.remote_trials(caller_settings)
    assert isinstance(remote, CeleryTrials)
    progress: list[tuple[int, int]] = []
    with session_scope(factory) as session:
        local = sweep.sweep(
            session, strategy="mean_reversion", grid=GRID, seed=3, config=CONFIG, workers=2
        )
    with session_scope(factory) as session:
        celery = sweep.sweep(
            session,
            strategy="mean_reversion",
            grid=GRID,
            seed=3,
            config=CONFIG,
            remote=remote,
            on_trial=lambda done, total: progress.append((done, total)),
        )
    assert len(local.trials) == 4
    assert [(t.params, t.metrics, t.deflated_sharpe) for t in celery.trials] == [
        (t.params, t.metrics, t.deflated_sharpe) for t in local.trials
    ]
    assert any(t.metrics["fills"] for t in local.trials), "the window should trade"
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with session_scope(factory) as session:
        for mine, theirs in zip(celery.trials, local.trials, strict=True):
            stored = session.get_one(BacktestRun, mine.run_id)
            twin = session.get_one(BacktestRun, theirs.run_id)
            assert stored.status == "succeeded"
            assert (stored.metrics, stored.summary, stored.data_fingerprint) == (
                twin.metrics,
                twin.summary,
                twin.data_fingerprint,
            )


def test_a_worker_refuses_a_window_whose_data_changed(
    worker: Worker, caller_settings: Settings, factory: sessionmaker[Session]
) -> None:
    with session_scope(factory) as session:
        inputs = service.load_inputs(session)
    stale = dataclasses.replace(inputs, fingerprint="0" * 64)
    with pytest.raises(InvalidInput, match="changed after the sweep started"):
        CeleryTrials(caller_settings).run(
            stale,
            strategy="mean_reversion",
            points=[{}],
            config=run_config.config_to_json(CONFIG),
            seed=0,
        )


def test_a_result_not_signed_with_our_secret_is_refused(
    caller_settings: Settings, factory: sessionmaker[Session]
) -> None:
    with session_scope(factory) as session:
        inputs = service.load_inputs(session, start=START, end=START + timedelta(minutes=10))
    outcome = service.execute(
        strategy="mean_reversion", params={}, inputs=inputs, config=CONFIG, seed=0
    )
    packed = pack_outcome(outcome, caller_settings)
    assert unpack_outcome(packed, caller_settings).metrics == outcome.metrics
    other = caller_settings.model_copy(update={"secret_key": SecretStr("someone-else's-key")})
    with pytest.raises(EdgewatchError, match="signature"):
        unpack_outcome(packed, other)
