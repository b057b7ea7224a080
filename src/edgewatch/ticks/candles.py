"""Candles: 1-minute and 1-hour OHLC rollups of ``odds_ticks``, kept up to date as ticks arrive.

Incremental and idempotent by construction: after a batch of ticks is stored, every candle bucket
the batch touched is *recomputed* from what is stored — minute candles from the ticks, hour
candles from the minute candles — and upserted (``INSERT … SELECT … GROUP BY … ON CONFLICT DO
UPDATE``). Recomputing rather than merging partial aggregates means a re-ingested window, a batch
that lands in the middle of a bucket, or ticks arriving out of order all leave exactly the candles
a full rebuild would give; the cost is re-reading the few ticks already stored in a touched
bucket. It all runs in SQL, one statement per width and batch, never per tick in Python.

Which buckets a batch touched is worked out with polars from the batch itself: per market, runs
of touched buckets closer than ``JOIN_GAP`` are recomputed as one time span, so a batch becomes
about one span per market (one index range scan each) whatever its size.

PostgreSQL buckets with ``date_bin`` (independent of the session time zone); SQLite with
``strftime`` on the stored UTC text, whose layout the bucket text matches exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import Connection, func, select, text
from sqlalchemy.sql.elements import TextClause

from edgewatch.models.candle import CANDLE_WIDTHS
from edgewatch.models.tick import OddsTick

MINUTE, HOUR = CANDLE_WIDTHS
#: Touched buckets of one market at most this far apart are recomputed as one span.
JOIN_GAP = timedelta(hours=1)
#: Markets per statement in a full rebuild, so one statement never rolls up the whole table.
REBUILD_MARKETS_PER_STATEMENT = 50
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_SQLITE_BUCKET = {MINUTE: "%Y-%m-%d %H:%M:00.000000", HOUR: "%Y-%m-%d %H:00:00.000000"}
_COLUMNS = "open, high, low, close, bid, ask, volume, tick_count"
_EXCLUDED = ", ".join(f"excluded.{name}" for name in _COLUMNS.split(", "))
_STORED = ", ".join(f"candles.{name}" for name in _COLUMNS.split(", "))


@dataclass(frozen=True, slots=True)
class Span:
    """Recompute ``market_id``'s candles of buckets starting in ``[start, end)``."""

    market_id: int
    start: datetime
    end: datetime


def update_candles(connection: Connection, ticks: pl.DataFrame) -> None:
    """Recompute the 1-minute and 1-hour candles of every bucket ``ticks`` falls in.

    ``ticks`` needs ``market_id`` and ``tick_ts`` (UTC) and must already be stored (in this
    transaction is enough). Safe to call again with the same ticks: nothing changes.
    """
    if ticks.is_empty():
        return
    touched = ticks.select("market_id", pl.col("tick_ts").dt.truncate("1m").alias("bucket"))
    minute_spans = _spans(touched.unique(), width=MINUTE)
    hours = touched.select("market_id", pl.col("bucket").dt.truncate("1h")).unique()
    with _without_jit(connection):
        _roll_up(connection, width=MINUTE, spans=minute_spans)
        _roll_up(connection, width=HOUR, spans=_spans(hours, width=HOUR))


@contextmanager
def _without_jit(connection: Connection) -> Iterator[None]:
    """PostgreSQL's JIT compiles these statements anew each batch (~0.1 s) for no gain."""
    if connection.dialect.name != "postgresql":
        yield
        return
    previous = connection.exec_driver_sql("SHOW jit").scalar_one()
    connection.exec_driver_sql("SELECT set_config('jit', 'off', true)")
    yield
    connection.execute(text("SELECT set_config('jit', :value, true)"), {"value": previous})


def rebuild_candles(connection: Connection, *, market_ids: list[int] | None = None) -> int:
    """Recompute every candle of ``market_ids`` (all markets when None) from the stored ticks.

    Returns the number of markets rolled up. Existing candles of buckets without ticks (their
    ticks removed by retention) are kept.
    """
    stmt = select(OddsTick.market_id, func.min(OddsTick.tick_ts), func.max(OddsTick.tick_ts))
    if market_ids is not None:
        stmt = stmt.where(OddsTick.market_id.in_(market_ids))
    ranges = connection.execute(stmt.group_by(OddsTick.market_id)).all()
    for first in range(0, len(ranges), REBUILD_MARKETS_PER_STATEMENT):
        chunk = ranges[first : first + REBUILD_MARKETS_PER_STATEMENT]
        frame = pl.DataFrame(
            {
                "market_id": [row[0] for row in chunk for _ in (0, 1)],
                "tick_ts": [ts for row in chunk for ts in (row[1], row[2])],
            },
            schema={"market_id": pl.Int64, "tick_ts": pl.Datetime("us", "UTC")},
        )
        # Both ends of each market's history, one span each: everything between is recomputed.
        for width, every in ((MINUTE, "1m"), (HOUR, "1h")):
            buckets = frame.select(
                "market_id", pl.col("tick_ts").dt.truncate(every).alias("bucket")
            )
            spans = _spans(buckets.unique(), width=width, join_gap=None)
            _roll_up(connection, width=width, spans=spans)
    return len(ranges)


def _spans(
    buckets: pl.DataFrame, *, width: int, join_gap: timedelta | None = JOIN_GAP
) -> list[Span]:
    """Distinct ``(market_id, bucket)`` rows → per-market spans covering runs of buckets.

    Buckets of one market at most ``join_gap`` apart (any distance when None) share a span.
    """
    ordered = buckets.sort("market_id", "bucket")
    starts_run = (pl.col("market_id") != pl.col("market_id").shift(1)).fill_null(True)
    if join_gap is not None:
        starts_run = starts_run | (pl.col("bucket").diff() > join_gap).fill_null(True)
    runs = (
        ordered.with_columns(starts_run.cum_sum().alias("run"))
        .group_by("run", maintain_order=True)
        .agg(
            pl.col("market_id").first(),
            pl.col("bucket").min().alias("start"),
            pl.col("bucket").max().alias("last"),
        )
    )
    step = timedelta(seconds=width)
    return [
        Span(market_id, start, last + step)
        for market_id, start, last in runs.select("market_id", "start", "last").iter_rows()
    ]


def _roll_up(connection: Connection, *, width: int, spans: list[Span]) -> None:
    if not spans:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        params: dict[str, object] = {
            "market_ids": [span.market_id for span in spans],
            "starts": [span.start for span in spans],
            "ends": [span.end for span in spans],
        }
    else:
        params = {
            "spans": json.dumps(
                [
                    [
                        span.market_id,
                        span.start.strftime(_SQLITE_TIME),
                        span.end.strftime(_SQLITE_TIME),
                    ]
                    for span in spans
                ]
            )
        }
    connection.execute(_rollup_sql(dialect, width), params)


def _rollup_sql(dialect: str, width: int) -> TextClause:
    """The upsert of one width's candles over the spans passed as parameters.

    Minute candles read the ticks, hour candles the minute candles: one hash aggregate finds
    each bucket's high, low, count and first and last times, with no sort; open and close (with
    the closing bid, ask and volume) are then read back at those two times by primary key.
    (Window functions, the portable ``first()``/``last()``, sort the whole batch and were twice
    as slow; ``min(ARRAY[time, price])`` slower still.) Only constants of this module are
    formatted into the text; the spans are bound parameters.
    """
    postgres = dialect == "postgresql"
    if postgres:
        spans = (
            "SELECT * FROM unnest(CAST(:market_ids AS integer[]), CAST(:starts AS timestamptz[]), "
            "CAST(:ends AS timestamptz[])) AS s (market_id, lo, hi)"
        )
        join = "JOIN"  # the planner puts the few spans outside and walks the primary key
    else:
        spans = (
            "SELECT json_extract(value, '$[0]') AS market_id, json_extract(value, '$[1]') AS lo, "
            "json_extract(value, '$[2]') AS hi FROM json_each(:spans)"
        )
        join = "CROSS JOIN"  # SQLite: CROSS JOIN fixes the spans as the outer loop

    def bucket(column: str) -> str:
        if postgres:
            return (
                f"date_bin(INTERVAL '{width} seconds', {column}, "
                "TIMESTAMPTZ '2000-01-01 00:00:00+00')"
            )
        return f"strftime('{_SQLITE_BUCKET[width]}', {column})"

    if width == MINUTE:
        table, alias, ts, count = "odds_ticks", "t", "tick_ts", "count(*)"
        where = f"WHERE {_price('t')} IS NOT NULL"
        open_, high, low, close = _price("t"), _price("t"), _price("t"), _price("t")
        row_filter = ""
    else:
        table, alias, ts, count = "candles", "m", "bucket_start", "sum(m.tick_count)"
        where = ""
        open_, high, low, close = "m.open", "m.high", "m.low", "m.close"
        row_filter = f"AND m.width_seconds = {MINUTE} "
    column = f"{alias}.{ts}"
    first_open = open_.replace(f"{alias}.", "f.")
    last_close = close.replace(f"{alias}.", "l.")
    values = f"{first_open}, a.high, a.low, {last_close}, l.bid, l.ask, l.volume, a.n"
    same_width = f"AND f.width_seconds = {MINUTE} " if width == HOUR else ""
    if postgres:
        # LATERAL … LIMIT 1 pins a primary-key probe per bucket; a plain join lets the planner
        # hash the whole tick table when its statistics are stale (a freshly loaded table).
        read_back = (
            f"CROSS JOIN LATERAL (SELECT * FROM {table} f WHERE f.market_id = a.market_id "  # noqa: S608
            f"{same_width}AND f.{ts} = a.first_ts LIMIT 1) f "
            f"CROSS JOIN LATERAL (SELECT * FROM {table} l WHERE l.market_id = a.market_id "
            f"{same_width.replace('f.', 'l.')}AND l.{ts} = a.last_ts LIMIT 1) l "
        )
    else:
        read_back = (
            f"JOIN {table} f ON f.market_id = a.market_id {same_width}AND f.{ts} = a.first_ts "
            f"JOIN {table} l ON l.market_id = a.market_id "
            f"{same_width.replace('f.', 'l.')}AND l.{ts} = a.last_ts "
        )
    summary = (
        f"SELECT {alias}.market_id, {bucket(column)} AS bucket, "  # noqa: S608
        f"min({column}) AS first_ts, max({column}) AS last_ts, "
        f"max({high}) AS high, min({low}) AS low, {count} AS n "
        f"FROM spans s {join} {table} {alias} ON {alias}.market_id = s.market_id {row_filter}"
        f"AND {column} >= s.lo AND {column} < s.hi {where} "
        f"GROUP BY {alias}.market_id, bucket"
    )
    return text(
        f"WITH spans AS ({spans}), summary AS ({summary}) "  # noqa: S608
        f"INSERT INTO candles (market_id, width_seconds, bucket_start, {_COLUMNS}) "
        f"SELECT a.market_id, {width}, a.bucket, {values} FROM summary a {read_back}WHERE true "
        "ON CONFLICT (market_id, width_seconds, bucket_start) DO UPDATE SET "
        f"({_COLUMNS}) = ({_EXCLUDED}) "
        # A bucket recomputed to what it already holds is not written again (no dead row).
        f"WHERE ({_STORED}) {'IS DISTINCT FROM' if postgres else 'IS NOT'} ({_EXCLUDED})"
    )


def _price(alias: str) -> str:
    """A tick's price: the mid, or the last trade when a side of the book is missing."""
    return f"COALESCE(({alias}.bid + {alias}.ask) / 2, {alias}.last)"
