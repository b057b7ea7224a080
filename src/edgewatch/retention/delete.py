"""Batched deletes of exactly the rows that were archived: the one dialect-aware delete path.

Rows are deleted by key (market and time for ticks, id for runs), never by a time range, so a row
that arrived after the archive was written is never removed by accident. Each batch is its own
short transaction: ``odds_ticks`` is never locked for long, and ingest carries on between batches.

PostgreSQL: one ``DELETE … WHERE (market_id, tick_ts) IN (SELECT * FROM unnest(…))`` per batch,
the keys passed as two arrays (one round trip, no temporary table, so it also works through
PgBouncer in transaction pooling mode). SQLite: ``executemany`` of a delete by primary key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, bindparam, func, select, text

from edgewatch.db.types import UTCDateTime
from edgewatch.models.backtest import BacktestEquity, BacktestRun, BacktestTrade

DEFAULT_BATCH_ROWS = 20_000
RUN_BATCH = 200

# Keys travel as two array literals (one text parameter each: psycopg adapting 20k Python
# datetimes one by one costs more than the delete); times as integer microseconds, exact.
_PG_DELETE_TICKS = text(
    "DELETE FROM odds_ticks WHERE (market_id, tick_ts) IN "
    "(SELECT m, timestamptz 'epoch' + us * interval '1 microsecond' "
    "FROM unnest(CAST(:market_ids AS bigint[]), CAST(:micros AS bigint[])) AS k(m, us))"
)
_SQLITE_DELETE_TICK = text(
    "DELETE FROM odds_ticks WHERE market_id = :market_id AND tick_ts = :tick_ts"
).bindparams(bindparam("tick_ts", type_=UTCDateTime()))


def delete_ticks(
    connection: Connection,
    keys: pl.DataFrame,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete the ticks keyed by ``keys`` (``market_id``, ``tick_ts``); returns rows deleted.

    Commits after every batch of ``batch_rows``; ``connection`` must not be in a transaction
    the caller still needs.
    """
    deleted = 0
    postgres = connection.dialect.name == "postgresql"
    for batch in keys.select("market_id", "tick_ts").iter_slices(batch_rows):
        if postgres:
            micros = batch.get_column("tick_ts").dt.epoch("us")
            result = connection.execute(
                _PG_DELETE_TICKS,
                {
                    "market_ids": _array_literal(batch.get_column("market_id")),
                    "micros": _array_literal(micros),
                },
            )
        else:
            market_ids: list[int] = batch.get_column("market_id").to_list()
            times: list[datetime] = batch.get_column("tick_ts").to_list()
            result = connection.execute(
                _SQLITE_DELETE_TICK,
                [{"market_id": m, "tick_ts": t} for m, t in zip(market_ids, times, strict=True)],
            )
        connection.commit()
        deleted += result.rowcount
        if on_batch is not None:
            on_batch(batch.height)
    return deleted


def _array_literal(values: pl.Series) -> str:
    """A PostgreSQL array literal of integers: ``{1,2,3}``."""
    return "{" + ",".join(map(str, values.to_list())) + "}"


class LedgerChanged(Exception):
    """A run's trades or equity no longer match what was archived; raised before any delete."""


def delete_runs(
    connection: Connection,
    expected: dict[int, tuple[int, int]],
    *,
    batch_runs: int = RUN_BATCH,
) -> int:
    """Delete backtest runs (and, by cascade, their trades and equity); returns runs deleted.

    ``expected`` maps each run id to its archived (trades, equity rows) counts; a batch whose
    counts differ in the database is rolled back and ``LedgerChanged`` raised, so rows the
    archive does not hold are never removed.
    """
    ids = sorted(expected)
    deleted = 0
    for offset in range(0, len(ids), batch_runs):
        chunk = ids[offset : offset + batch_runs]
        try:
            for table, label in ((BacktestTrade, "trades"), (BacktestEquity, "equity rows")):
                rows = connection.execute(
                    select(table.run_id, func.count())
                    .where(table.run_id.in_(chunk))
                    .group_by(table.run_id)
                ).tuples()
                counts = {run_id: count for run_id, count in rows}
                index = 0 if table is BacktestTrade else 1
                for run_id in chunk:
                    if counts.get(run_id, 0) != expected[run_id][index]:
                        raise LedgerChanged(
                            f"backtest run {run_id}: {counts.get(run_id, 0)} {label} stored, "
                            f"{expected[run_id][index]} archived"
                        )
            deleted += _delete_run_ids(connection, chunk)
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
    return deleted


def _delete_run_ids(connection: Connection, ids: Sequence[int]) -> int:
    # Children first: SQLite enforces ON DELETE CASCADE only with foreign keys on, and an
    # explicit delete keeps the row counts exact on both dialects.
    for table in (BacktestTrade, BacktestEquity):
        connection.execute(table.__table__.delete().where(table.run_id.in_(ids)))  # type: ignore[attr-defined]
    result = connection.execute(BacktestRun.__table__.delete().where(BacktestRun.id.in_(ids)))  # type: ignore[attr-defined]
    return result.rowcount
