"""Stored backtest runs in the archive: a run, its ledger and its equity curve, by creation day.

Only finished runs (succeeded, failed, cancelled) are archived: a queued or running one still
changes. A run is restored with its original id, so links to it (``rerun_of``) stay valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from edgewatch.archive.frames import frame_records, table_frame
from edgewatch.archive.partition import TableSpec
from edgewatch.models.backtest import BacktestEquity, BacktestRun, BacktestTrade

KIND = "backtests"
FINISHED = ("succeeded", "failed", "cancelled")
RUNS_TABLE: Table = BacktestRun.__table__  # type: ignore[assignment]
TRADES_TABLE: Table = BacktestTrade.__table__  # type: ignore[assignment]
EQUITY_TABLE: Table = BacktestEquity.__table__  # type: ignore[assignment]
RUNS = TableSpec("backtest_runs", keys=("id",), time_column="created_at")
TRADES = TableSpec("backtest_trades", keys=("id",), time_column="ts")
EQUITY = TableSpec("backtest_equity", keys=("run_id", "ts"), time_column="ts")
#: Parents first: that is the order rows can be inserted in.
TABLES: tuple[tuple[TableSpec, Table], ...] = (
    (RUNS, RUNS_TABLE),
    (TRADES, TRADES_TABLE),
    (EQUITY, EQUITY_TABLE),
)


def read_runs(
    connection: Connection | Session, start: datetime, end: datetime
) -> list[tuple[TableSpec, pl.DataFrame]]:
    """Finished runs created in ``[start, end)``, with their trades and equity rows."""
    runs = connection.execute(
        select(RUNS_TABLE)
        .where(
            RUNS_TABLE.c.created_at >= start,
            RUNS_TABLE.c.created_at < end,
            RUNS_TABLE.c.status.in_(FINISHED),
        )
        .order_by(RUNS_TABLE.c.id)
    ).all()
    ids = [row.id for row in runs]
    frames = [(RUNS, table_frame(RUNS_TABLE, runs))]
    for spec, table in TABLES[1:]:
        rows: list[object] = []
        # Bounded IN lists: SQLite allows a limited number of parameters per statement.
        for offset in range(0, len(ids), 500):
            chunk = ids[offset : offset + 500]
            rows.extend(connection.execute(select(table).where(table.c.run_id.in_(chunk))).all())
        frames.append((spec, table_frame(table, rows)))  # type: ignore[arg-type]
    return frames


def restore_runs(session: Session, frames: dict[str, pl.DataFrame], run_ids: Sequence[int]) -> int:
    """Insert the archived runs ``run_ids`` with their trades and equity; returns runs added.

    Rows already present (same key) are kept as they are.
    """
    if not run_ids:
        return 0
    wanted = pl.Series(list(run_ids), dtype=pl.Int64)
    dialect = session.get_bind().dialect.name
    present = 0
    for offset in range(0, len(run_ids), 500):
        chunk = list(run_ids[offset : offset + 500])
        present += len(
            session.scalars(select(RUNS_TABLE.c.id).where(RUNS_TABLE.c.id.in_(chunk))).all()
        )
    for spec, table in TABLES:
        frame = frames.get(spec.name)
        if frame is None or frame.is_empty():
            continue
        column = "id" if spec is RUNS else "run_id"
        records = frame_records(table, frame.filter(pl.col(column).is_in(wanted.implode())))
        if not records:
            continue
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table).on_conflict_do_nothing()
        for offset in range(0, len(records), 1000):
            session.execute(statement, records[offset : offset + 1000])
    return len(run_ids) - present
