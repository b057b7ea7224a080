"""Retention: archive old ticks and backtest runs, verify the archive, then delete them.

For each whole UTC day older than the retention window, oldest first:

1. read the day's rows from the database;
2. write them to the archive (merged with anything the day already holds there);
3. read the archive back from the store and check it holds every one of those rows, value for
   value (``partition.verify_holds``) — if not, stop: nothing of that day is deleted;
4. delete exactly those rows, by key, in short batches.

A crash anywhere leaves either rows still in the database (re-archived and deleted by the next
run: archiving merges, so that is harmless) or rows both archived and stored — never a row that
exists nowhere. Only whole days are processed, so the cut-off is the start of the UTC day
``retention_days`` ago.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import InstrumentedAttribute

from edgewatch.archive import backtests, ticks
from edgewatch.archive.manifest import day_start
from edgewatch.archive.partition import ArchiveMismatch, verify_holds, write_partition
from edgewatch.archive.progress import NULL_TRACKER, Tracker
from edgewatch.archive.store import ObjectStore
from edgewatch.models import BacktestRun, OddsTick
from edgewatch.observability.logging import get_logger
from edgewatch.retention.delete import DEFAULT_BATCH_ROWS, LedgerChanged, delete_runs, delete_ticks

log = get_logger(__name__)


@dataclass(slots=True)
class RetentionSummary:
    tick_cutoff: datetime
    run_cutoff: datetime
    dry_run: bool = False
    tick_days: int = 0
    ticks_archived: int = 0
    ticks_deleted: int = 0
    run_days: int = 0
    runs_archived: int = 0
    runs_deleted: int = 0

    def line(self) -> str:
        if self.dry_run:
            return (
                f"dry run: {self.ticks_archived} ticks over {self.tick_days} days before "
                f"{self.tick_cutoff:%Y-%m-%d} and {self.runs_archived} backtest runs before "
                f"{self.run_cutoff:%Y-%m-%d} would be archived and deleted"
            )
        return (
            f"retention: {self.ticks_deleted} ticks deleted ({self.ticks_archived} archived over "
            f"{self.tick_days} days before {self.tick_cutoff:%Y-%m-%d}), {self.runs_deleted} "
            f"backtest runs deleted ({self.runs_archived} archived, before "
            f"{self.run_cutoff:%Y-%m-%d})"
        )


def cutoff(now: datetime, days: int) -> datetime:
    """The start of the UTC day ``days`` before ``now``: everything earlier is due."""
    moment = now.astimezone(UTC) - timedelta(days=days)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _days_before(
    connection: Connection, column: InstrumentedAttribute[datetime], limit: datetime
) -> list[date]:
    oldest = connection.execute(select(func.min(column)).where(column < limit)).scalar()
    connection.commit()
    if oldest is None:
        return []
    if isinstance(oldest, str):  # SQLite's min() loses the column type
        oldest = datetime.fromisoformat(oldest)
    first = oldest.date()
    return [first + timedelta(days=n) for n in range((limit.date() - first).days)]


def run_retention(
    engine: Engine,
    store: ObjectStore,
    *,
    now: datetime,
    tick_retention_days: int,
    backtest_retention_days: int,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    dry_run: bool = False,
    tracker: Tracker = NULL_TRACKER,
) -> RetentionSummary:
    """Archive, verify and delete ticks and finished backtest runs past their retention.

    Raises ``ArchiveMismatch`` (nothing of the day in question deleted) if the archive cannot be
    read back intact, and ``TemporaryError`` if the store is unreachable.
    """
    summary = RetentionSummary(
        tick_cutoff=cutoff(now, tick_retention_days),
        run_cutoff=cutoff(now, backtest_retention_days),
        dry_run=dry_run,
    )
    with engine.connect() as connection:
        _ticks(connection, store, summary, now=now, batch_rows=batch_rows, tracker=tracker)
        _runs(connection, store, summary, now=now, tracker=tracker)
    log.info(
        "retention_finished",
        dry_run=dry_run,
        ticks_deleted=summary.ticks_deleted,
        runs_deleted=summary.runs_deleted,
    )
    return summary


def _ticks(
    connection: Connection,
    store: ObjectStore,
    summary: RetentionSummary,
    *,
    now: datetime,
    batch_rows: int,
    tracker: Tracker,
) -> None:
    days = _days_before(connection, OddsTick.tick_ts, summary.tick_cutoff)
    tracker.stage("archiving and deleting ticks (days)", total=len(days))
    for day in days:
        start = day_start(day)
        frame = ticks.read_ticks(connection, start, start + timedelta(days=1))
        connection.commit()
        tracker.advance()
        if frame.is_empty():
            continue
        summary.tick_days += 1
        summary.ticks_archived += frame.height
        if summary.dry_run:
            continue
        write_partition(store, ticks.KIND, day, [(ticks.SPEC, frame)], now=now)
        verify_holds(store, ticks.KIND, day, {ticks.SPEC.name: (ticks.SPEC, frame)})
        summary.ticks_deleted += delete_ticks(connection, frame, batch_rows=batch_rows)
        log.info("retention_ticks_day", day=day.isoformat(), rows=frame.height)


def _runs(
    connection: Connection,
    store: ObjectStore,
    summary: RetentionSummary,
    *,
    now: datetime,
    tracker: Tracker,
) -> None:
    days = _days_before(connection, BacktestRun.created_at, summary.run_cutoff)
    tracker.stage("archiving and deleting backtest runs (days)", total=len(days))
    for day in days:
        start = day_start(day)
        tables = backtests.read_runs(connection, start, start + timedelta(days=1))
        connection.commit()
        tracker.advance()
        runs = tables[0][1]
        if runs.is_empty():
            continue
        summary.run_days += 1
        summary.runs_archived += runs.height
        if summary.dry_run:
            continue
        write_partition(store, backtests.KIND, day, tables, now=now)
        verify_holds(store, backtests.KIND, day, {spec.name: (spec, f) for spec, f in tables})
        try:
            summary.runs_deleted += delete_runs(connection, _ledger_counts(tables))
        except LedgerChanged as exc:
            raise ArchiveMismatch(f"{exc}; run retention again to archive it first") from None


def _ledger_counts(tables: Sequence[tuple[object, pl.DataFrame]]) -> dict[int, tuple[int, int]]:
    runs, trades, equity = (frame for _, frame in tables)
    trade_counts = dict(trades.group_by("run_id").len().iter_rows())
    equity_counts = dict(equity.group_by("run_id").len().iter_rows())
    return {
        run_id: (trade_counts.get(run_id, 0), equity_counts.get(run_id, 0))
        for run_id in runs.get_column("id").to_list()
    }
