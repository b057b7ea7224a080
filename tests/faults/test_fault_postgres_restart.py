"""PostgreSQL restarted in the middle of an ingest: the run fails cleanly, the next catches up.

The proof is a comparison with an ingest that was never interrupted: the simulator is
deterministic, so the two databases must end with exactly the same ticks — none lost, none twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from edgewatch.config import Settings
from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.scratch import ScratchCluster, throwaway_postgres
from edgewatch.jobs.pipelines import get_pipeline
from edgewatch.jobs.runner import PipelineContext, PipelineOutcome, run_pipeline
from edgewatch.models import PipelineRun

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WINDOWS = [NOW + timedelta(seconds=30 * i) for i in range(4)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[ScratchCluster]:
    with throwaway_postgres() as running:
        yield running


def _database(cluster: ScratchCluster) -> str:
    name = f"fault_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(cluster.admin_url).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(cluster.admin_url).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tmp_path,
        environment="test",
        secret_key="fault-test-secret-key",  # type: ignore[arg-type]
        sim_events=8,
    )


def _ticks(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT m.venue, m.venue_market_id, t.tick_ts, t.bid, t.ask, t.last "
                    "FROM odds_ticks t JOIN markets m ON m.id = t.market_id "
                    "ORDER BY 1, 2, 3"
                )
            )
        ]


def _ingest(settings: Settings, engine: Engine, now: datetime, step: object = None) -> PipelineRun:
    spec = get_pipeline(settings, "ingest-sim")
    return run_pipeline(
        "ingest-sim",
        step or spec.step,  # type: ignore[arg-type]
        settings=settings,
        engine=engine,
        now=now,
    )


def test_a_restart_mid_ingest_loses_and_duplicates_nothing(
    cluster: ScratchCluster, tmp_path: Path
) -> None:
    clean_settings = _settings(_database(cluster), tmp_path / "clean")
    faulty_settings = _settings(_database(cluster), tmp_path / "faulty")
    clean = create_db_engine(clean_settings.resolved_database_url)
    faulty = create_db_engine(faulty_settings.resolved_database_url)
    real_step = get_pipeline(faulty_settings, "ingest-sim").step

    def crashing_step(session: Session, context: PipelineContext) -> PipelineOutcome:
        outcome = real_step(session, context)  # ticks written, not yet committed
        cluster.restart("fast")  # connections cut, server back before the commit
        return outcome

    try:
        for now in WINDOWS:
            assert _ingest(clean_settings, clean, now).status == "succeeded"

        assert _ingest(faulty_settings, faulty, WINDOWS[0]).status == "succeeded"
        crashed = _ingest(faulty_settings, faulty, WINDOWS[1], crashing_step)
        assert crashed.status == "failed"
        assert crashed.error and crashed.error.startswith("DatabaseUnavailable")
        for now in WINDOWS[2:]:
            assert _ingest(faulty_settings, faulty, now).status == "succeeded"

        expected, actual = _ticks(clean), _ticks(faulty)
        assert len(expected) > 100
        assert actual == expected
    finally:
        clean.dispose()
        faulty.dispose()


def test_ingest_while_the_database_is_down_fails_then_recovers(
    cluster: ScratchCluster, tmp_path: Path
) -> None:
    settings = _settings(_database(cluster), tmp_path)
    engine = create_db_engine(settings.resolved_database_url, connect_timeout=2)
    try:
        assert _ingest(settings, engine, WINDOWS[0]).status == "succeeded"
        cluster.stop()
        try:
            with pytest.raises(Exception, match="connection"):
                _ingest(settings, engine, WINDOWS[1])
        finally:
            cluster.start()
        caught_up = _ingest(settings, engine, WINDOWS[3])
        assert caught_up.status == "succeeded"
        assert caught_up.rows_stored > 0
        with engine.connect() as connection:
            statuses = (
                connection.execute(text("SELECT status FROM pipeline_runs ORDER BY id"))
                .scalars()
                .all()
            )
        assert statuses == ["succeeded", "succeeded"]
    finally:
        engine.dispose()
