r"""Bulk, idempotent tick storage: the one dialect-aware write path for ``odds_ticks``.

PostgreSQL: COPY (CSV written by polars, in Rust) straight into ``odds_ticks`` inside a savepoint —
as fast as ``psql \copy`` for new ticks, the common case. If any tick of the batch is already stored
the COPY fails on the primary key, the savepoint rolls back, and the batch goes the safe way: COPY
into a temporary staging table, then one ``INSERT … SELECT … ON CONFLICT DO NOTHING``.
SQLite: ``INSERT OR IGNORE`` executemany inside the caller's transaction.
Either way a tick already stored is skipped, so re-ingesting a window stores nothing twice.
Each batch that stored something then refreshes the candles it touched (``ticks.candles``), in
the same transaction, so candles never disagree with the ticks.
"""

from __future__ import annotations

import polars as pl
import psycopg
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from edgewatch.db.types import UTCDateTime
from edgewatch.ticks.candles import update_candles

COLUMNS = ("market_id", "tick_ts", "bid", "ask", "last", "volume", "bid_size", "ask_size")
_COPY_STAGING_SQL = (
    "COPY odds_ticks_staging (market_id, tick_ts, bid, ask, last, volume, bid_size, ask_size) "
    "FROM STDIN WITH (FORMAT csv)"
)
_COPY_DIRECT_SQL = (
    "COPY odds_ticks (market_id, tick_ts, bid, ask, last, volume, bid_size, ask_size) "
    "FROM STDIN WITH (FORMAT csv)"
)
# Typed so the time is stored exactly as the ORM stores it (SQLite keeps datetimes as text).
_ADVANCE_SQL = text(
    "UPDATE markets SET last_tick_at = :newest "
    "WHERE id = :market_id AND (last_tick_at IS NULL OR last_tick_at < :newest)"
).bindparams(bindparam("newest", type_=UTCDateTime()))
_MERGE_SQL = (
    "INSERT INTO odds_ticks (market_id, tick_ts, bid, ask, last, volume, bid_size, ask_size) "
    "SELECT market_id, tick_ts, bid, ask, last, volume, bid_size, ask_size "
    "FROM odds_ticks_staging ON CONFLICT DO NOTHING"
)
_SQLITE_INSERT_SQL = (
    "INSERT OR IGNORE INTO odds_ticks "
    "(market_id, tick_ts, bid, ask, last, volume, bid_size, ask_size) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
BATCH_ROWS = 200_000
# The layout SQLAlchemy's SQLite DATETIME uses; stored text must match it for comparisons to work.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.6f"


def store_ticks(session: Session, frame: pl.DataFrame) -> int:
    """Store ``frame`` (columns ``COLUMNS``, ``tick_ts`` UTC) and return how many rows were new.

    Memory stays bounded: the frame is written in batches of ``BATCH_ROWS``. The candles of
    every bucket a batch with new ticks falls in are recomputed.
    """
    if frame.is_empty():
        return 0
    frame = frame.select(COLUMNS)
    write = _copy_batch if session.get_bind().dialect.name == "postgresql" else _insert_batch
    stored = 0
    for batch in frame.iter_slices(BATCH_ROWS):
        new = write(session, batch)
        if new:
            update_candles(session.connection(), batch)
        stored += new
    _advance_last_tick(session, frame)
    return stored


def _copy_batch(session: Session, batch: pl.DataFrame) -> int:
    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    csv = (
        batch.with_columns(pl.col("tick_ts").dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00:00"))
        .write_csv(include_header=False)
        .encode()
    )
    savepoint = connection.begin_nested()
    try:
        with driver.cursor() as cursor, cursor.copy(_COPY_DIRECT_SQL) as copy:
            copy.write(csv)
        savepoint.commit()
        return batch.height
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
    connection.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS odds_ticks_staging "
            "(LIKE odds_ticks INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
    )
    connection.execute(text("TRUNCATE odds_ticks_staging"))
    with driver.cursor() as cursor, cursor.copy(_COPY_STAGING_SQL) as copy:
        copy.write(csv)
    return connection.execute(text(_MERGE_SQL)).rowcount


def _insert_batch(session: Session, batch: pl.DataFrame) -> int:
    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    rows = batch.with_columns(pl.col("tick_ts").dt.strftime(_SQLITE_TIME)).rows()
    cursor = driver.cursor()
    try:
        cursor.executemany(_SQLITE_INSERT_SQL, rows)
        stored: int = cursor.rowcount
    finally:
        cursor.close()
    return stored


def _advance_last_tick(session: Session, frame: pl.DataFrame) -> None:
    """Move each market's ``last_tick_at`` forward, in one statement run for all markets."""
    newest = frame.group_by("market_id").agg(pl.col("tick_ts").max().alias("newest"))
    session.connection().execute(_ADVANCE_SQL, newest.to_dicts())
