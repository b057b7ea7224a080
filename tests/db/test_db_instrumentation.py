"""Database metrics: statement latency, errors, pool use and table sizes on /metrics."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from edgewatch.db.engine import create_db_engine
from edgewatch.db.instrumentation import watch_storage
from edgewatch.observability.metrics import REGISTRY


def _sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return value or 0.0


@pytest.mark.both_backends
def test_statements_are_timed_and_the_pool_and_tables_reported(engine: Engine) -> None:
    before = _sample("edgewatch_db_query_duration_seconds_count", operation="select")
    watch_storage(engine)
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM markets")).scalar()
        exposition = generate_latest(REGISTRY).decode()
        database = engine.url.database or "default"
        if engine.dialect.name == "postgresql":
            in_use = _sample("edgewatch_db_pool_connections", database=database, state="in_use")
            assert in_use >= 1
            assert _sample("edgewatch_table_size_bytes", database=database, table="odds_ticks") > 0
        else:
            sample = f'edgewatch_table_size_bytes{{database="{database}",table="(all)"}}'
            assert sample in exposition
    watch_storage(engine, watch=False)
    assert _sample("edgewatch_db_query_duration_seconds_count", operation="select") > before


@pytest.mark.both_backends
def test_engines_not_watched_are_never_measured_by_a_scrape(engine: Engine) -> None:
    """Only engines registered with ``watch_storage`` (the API's) get table sizes."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    database = engine.url.database or "default"
    measured = [
        sample
        for metric in REGISTRY.collect()
        if metric.name == "edgewatch_table_size_bytes"
        for sample in metric.samples
        if sample.labels.get("database") == database
    ]
    assert measured == []


def test_connection_errors_are_counted() -> None:
    engine = create_db_engine("postgresql://nobody@127.0.0.1:9/none", connect_timeout=1)
    before = _sample("edgewatch_db_errors_total", kind="connection")
    with pytest.raises(OperationalError):
        engine.connect().close()
    engine.dispose()
    assert _sample("edgewatch_db_errors_total", kind="connection") > before
