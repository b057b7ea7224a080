"""Pipelines through real Celery workers on the test Redis and PostgreSQL.

A run is held mid-step by locking the ``markets`` table (ingest writes markets first) from the
test, so "mid-task" is a state the test controls, not a race it hopes to win.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from celery_worker import (
    POSTGRES_ADMIN_URL,
    REDIS_TEST_URL,
    Worker,
    celery_worker,
    postgres_database,
    producer,
    redis_url,
    wait_for,
    worker_env,
)
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.jobs.celery_app import RUN_TASK
from edgewatch.jobs.runner import queue_run
from edgewatch.jobs.tasks import enqueue_run
from edgewatch.models import OddsTick, PipelineRun

pytestmark = pytest.mark.skipif(
    not (POSTGRES_ADMIN_URL and REDIS_TEST_URL),
    reason="needs EDGEWATCH_TEST_POSTGRES_URL and EDGEWATCH_TEST_REDIS_URL",
)
#: Redis database of this module's broker (other suites use other numbers).
REDIS_DB = 11
RUN_TIMEOUT = 90.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens once the socket is closed: connections are refused


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return worker_env(
        database_url=database_url,
        broker=redis_url(REDIS_DB),
        data_dir=tmp_path_factory.mktemp("worker-data"),
        # ingest-kalshi talks to a port where nothing listens: a temporary error every time.
        EDGEWATCH_SOURCES="sim,kalshi",
        EDGEWATCH_KALSHI_BASE_URL=f"http://127.0.0.1:{_closed_port()}/trade-api/v2",
    )


@pytest.fixture(scope="module")
def worker(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    log = tmp_path_factory.mktemp("worker-log") / "worker.log"
    with celery_worker(env, log, concurrency=2) as running:
        yield running


@pytest.fixture(scope="module")
def app(env: dict[str, str]) -> Iterator[Celery]:
    app = producer(env)
    yield app
    app.close()


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url, pool_size=3)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(db: Engine) -> sessionmaker[Session]:
    return make_session_factory(db)


def _trigger(app: Celery, factory: sessionmaker[Session], pipeline: str) -> int:
    with session_scope(factory) as session:
        run_id = queue_run(session, pipeline).id
    enqueue_run(app, pipeline, run_id=run_id)
    return run_id


def _status(factory: sessionmaker[Session], run_id: int) -> str:
    with session_scope(factory) as session:
        return session.get_one(PipelineRun, run_id).status


def _wait_status(
    factory: sessionmaker[Session], worker: Worker, run_id: int, *statuses: str
) -> str:
    status: str = wait_for(
        lambda: (s := _status(factory, run_id)) in statuses and s,
        timeout=RUN_TIMEOUT,
        what=f"run {run_id} to be {'/'.join(statuses)}",
        worker=worker,
    )
    return status


@contextmanager
def _markets_locked(db: Engine) -> Iterator[None]:
    """Hold ingest inside its step: it blocks on its first write to ``markets``."""
    with db.connect() as connection:
        connection.execute(text("LOCK TABLE markets IN ACCESS EXCLUSIVE MODE"))
        yield
        connection.rollback()


def test_a_triggered_run_executes_once_and_a_redelivery_changes_nothing(
    worker: Worker, app: Celery, factory: sessionmaker[Session]
) -> None:
    run_id = _trigger(app, factory, "ingest-sim")
    assert _wait_status(factory, worker, run_id, "succeeded", "failed") == "succeeded"
    with session_scope(factory) as session:
        first = session.get_one(PipelineRun, run_id)
        ticks = session.scalar(select(func.count()).select_from(OddsTick))
    assert first.rows_stored > 0 and ticks

    # The same message again (a broker redelivery): the run is finished, the task does nothing.
    again = app.send_task(
        RUN_TASK, kwargs={"pipeline": "ingest-sim", "run_id": run_id}, ignore_result=False
    )
    assert again.get(timeout=RUN_TIMEOUT) == "succeeded"
    with session_scope(factory) as session:
        same = session.get_one(PipelineRun, run_id)
        runs = session.scalar(select(func.count()).where(PipelineRun.pipeline == "ingest-sim"))
        assert session.scalar(select(func.count()).select_from(OddsTick)) == ticks
    assert (same.finished_at, same.rows_stored, runs) == (first.finished_at, first.rows_stored, 1)


def test_two_concurrent_triggers_run_once_and_the_other_is_skipped(
    worker: Worker, app: Celery, db: Engine, factory: sessionmaker[Session]
) -> None:
    with _markets_locked(db):
        first = _trigger(app, factory, "ingest-sim")
        _wait_status(factory, worker, first, "running")
        second = _trigger(app, factory, "ingest-sim")
        assert _wait_status(factory, worker, second, "skipped", "succeeded") == "skipped"
        assert _status(factory, first) == "running"
    assert _wait_status(factory, worker, first, "succeeded", "failed") == "succeeded"
    with session_scope(factory) as session:
        skipped = session.get_one(PipelineRun, second)
    assert skipped.error == "another run of ingest-sim was in progress"


def test_a_temporary_error_is_retried_with_backoff_then_given_up(
    worker: Worker, app: Celery, factory: sessionmaker[Session]
) -> None:
    run_id = _trigger(app, factory, "ingest-kalshi")
    assert _wait_status(factory, worker, run_id, "failed", "succeeded") == "failed"

    def attempts() -> list[PipelineRun]:
        with session_scope(factory) as session:
            return list(
                session.scalars(
                    select(PipelineRun)
                    .where(PipelineRun.pipeline == "ingest-kalshi")
                    .order_by(PipelineRun.id)
                )
            )

    def four_finished() -> list[PipelineRun] | None:
        found = attempts()
        return found if len(found) == 4 and found[-1].finished_at else None

    # The first attempt and EDGEWATCH_TASK_MAX_RETRIES=3 retries, each a failed run of its own.
    runs = wait_for(
        four_finished,
        timeout=RUN_TIMEOUT,
        what="four attempts of ingest-kalshi",
        worker=worker,
    )
    assert [run.status for run in runs] == ["failed"] * 4
    assert all((run.error or "").startswith("VenueUnavailable") for run in runs)
    gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in itertools.pairwise(runs)]
    # Backoff 0.5 s · 2^n with jitter in [½, 1]: at least 0.25, 0.5, 1 s between attempts.
    assert all(gap >= floor for gap, floor in zip(gaps, [0.25, 0.5, 1.0], strict=True)), gaps
    time.sleep(2)
    assert len(attempts()) == 4, "retries must stop at EDGEWATCH_TASK_MAX_RETRIES"


def test_a_killed_worker_process_has_its_task_requeued_and_run_to_completion(
    worker: Worker, app: Celery, db: Engine, factory: sessionmaker[Session]
) -> None:
    with _markets_locked(db):
        run_id = _trigger(app, factory, "ingest-sim")
        _wait_status(factory, worker, run_id, "running")
        pids = worker.pool_pids()
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
    # The lost message comes back (reject_on_worker_lost); the same run is claimed and finished.
    assert _wait_status(factory, worker, run_id, "succeeded", "failed") == "succeeded"
    with session_scope(factory) as session:
        stuck = session.scalar(
            select(func.count()).where(
                PipelineRun.pipeline == "ingest-sim", PipelineRun.status == "running"
            )
        )
    assert stuck == 0


def test_sigterm_lets_the_worker_finish_the_task_in_hand(
    env: dict[str, str], db: Engine, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    own_env = {**env, "EDGEWATCH_REDIS_URL": redis_url(REDIS_DB + 1)}
    app = producer(own_env)
    try:
        with celery_worker(own_env, tmp_path / "worker.log") as worker:
            with _markets_locked(db):
                run_id = _trigger(app, factory, "ingest-sim")
                _wait_status(factory, worker, run_id, "running")
                worker.process.send_signal(signal.SIGTERM)
                time.sleep(1.5)
                assert worker.process.poll() is None, "warm shutdown waits for the task in hand"
            assert worker.process.wait(timeout=RUN_TIMEOUT) == 0
            assert _status(factory, run_id) == "succeeded"
    finally:
        app.close()
