"""Ingest throughput on PostgreSQL: Edgewatch's bulk path against ``psql \\copy`` of the same rows.

    uv run python bench/ingest.py                  # 1 million ticks
    uv run python bench/ingest.py --ticks 200000

Uses ``EDGEWATCH_DATABASE_URL`` when set (a scratch database on that server is created and
dropped); otherwise starts a throwaway PostgreSQL of its own (as the ``postgres`` user when run as
root, since PostgreSQL refuses root), and removes it afterwards.

Data: simulator quotes for ~2,000 markets (generation is not timed), stored first as markets.
Timed, each into an empty table with the same primary key, indexes and foreign key as
``odds_ticks``:

* ``edgewatch``: ``ticks.store.store_ticks`` in one transaction — polars writes CSV, COPY in a
  savepoint (falling back to staging + ``INSERT … ON CONFLICT DO NOTHING`` when a tick is already
  stored, so it stays idempotent), ``markets.last_tick_at`` kept;
* ``psql \\copy``: the same rows from a CSV file, straight into the table (not idempotent).

Each is run three times, alternating, and the median is reported. The last line is
``ingest_ratio_vs_psql_copy=<edgewatch rows/s ÷ psql rows/s>``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.scratch import throwaway_postgres
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.markets.service import upsert_markets
from edgewatch.ticks.store import COLUMNS, store_ticks
from edgewatch.venues.sim.world import SimConfig, SimWorld

NOW = datetime(2026, 6, 1, tzinfo=UTC)
RUNS = 3


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    name = f"edgewatch_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def simulated_ticks(count: int, session_factory) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """About ``count`` simulator ticks with our market ids (markets are stored here)."""
    world = SimWorld(SimConfig(events=1_200, step_seconds=5.0, bad_record_rate=0.0))
    per_step = len(world.tick_frame(NOW - timedelta(seconds=5), NOW)) or 1
    steps = max(1, count // per_step + 1)
    frame = world.tick_frame(NOW - timedelta(seconds=5 * steps), NOW).head(count)
    with session_scope(session_factory) as session:
        ids = upsert_markets(session, world.markets(NOW))
    keys = pl.DataFrame(
        [(venue, market, market_id) for (venue, market), market_id in ids.items()],
        schema={"venue": pl.Utf8, "venue_market_id": pl.Utf8, "market_id": pl.Int64},
        orient="row",
    )
    return frame.join(keys, on=["venue", "venue_market_id"]).select(COLUMNS)


def time_edgewatch(url: str, frame: pl.DataFrame) -> float:
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE odds_ticks, candles"))
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with session_scope(factory) as session:
        stored = store_ticks(session, frame)
    elapsed = time.perf_counter() - started
    engine.dispose()
    assert stored == frame.height, (stored, frame.height)
    return elapsed


def time_psql_copy(url: str, csv_path: Path, rows: int) -> float:
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS odds_ticks_copy"))
        connection.execute(text("CREATE TABLE odds_ticks_copy (LIKE odds_ticks INCLUDING ALL)"))
        # LIKE copies indexes but not foreign keys; the real table checks every tick's market.
        connection.execute(
            text(
                "ALTER TABLE odds_ticks_copy ADD FOREIGN KEY (market_id) "
                "REFERENCES markets (id) ON DELETE CASCADE"
            )
        )
    engine.dispose()
    psql_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    command = f"\\copy odds_ticks_copy ({', '.join(COLUMNS)}) FROM '{csv_path}' WITH (FORMAT csv)"
    started = time.perf_counter()
    subprocess.run(["psql", psql_url, "-q", "-c", command], check=True)
    elapsed = time.perf_counter() - started
    engine = create_db_engine(url)
    with engine.connect() as connection:
        copied = connection.execute(text("SELECT count(*) FROM odds_ticks_copy")).scalar_one()
    engine.dispose()
    assert copied == rows, (copied, rows)
    return elapsed


def run(admin_url: str, ticks: int) -> None:
    with scratch_database(admin_url) as url:
        migrate.upgrade(url)
        engine = create_db_engine(url)
        frame = simulated_ticks(ticks, make_session_factory(engine))
        engine.dispose()
        with tempfile.TemporaryDirectory() as scratch:
            csv_path = Path(scratch) / "ticks.csv"
            frame.with_columns(
                pl.col("tick_ts").dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00:00")
            ).write_csv(csv_path, include_header=False)
            if os.geteuid() == 0:
                shutil.chown(scratch, "postgres")
            ours, theirs = [], []
            for _ in range(RUNS):
                theirs.append(time_psql_copy(url, csv_path, frame.height))
                ours.append(time_edgewatch(url, frame))
    ours_rate = frame.height / statistics.median(ours)
    theirs_rate = frame.height / statistics.median(theirs)
    print(f"rows: {frame.height:,} ticks, median of {RUNS} runs each")
    print(f"edgewatch store_ticks (idempotent bulk path): {ours_rate:,.0f} rows/s")
    print(f"psql \\copy into an identical table:         {theirs_rate:,.0f} rows/s")
    print(f"ingest_ratio_vs_psql_copy={ours_rate / theirs_rate:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    args = parser.parse_args()
    configured = os.environ.get("EDGEWATCH_DATABASE_URL")
    if configured:
        run(configured, args.ticks)
        return
    with throwaway_postgres() as cluster:
        run(cluster.admin_url, args.ticks)


if __name__ == "__main__":
    main()
