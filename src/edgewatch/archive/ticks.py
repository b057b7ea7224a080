"""Ticks in the archive: one Parquet file per UTC day, keyed by venue, market and time.

Archived ticks carry the venue and the venue's market id beside Edgewatch's ``market_id``, so a
restore maps them to the markets of the database it restores into (ids differ between databases;
the venue's own id does not). Markets themselves are never archived or removed by retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from edgewatch.archive.frames import UTC_MICROS
from edgewatch.archive.partition import TableSpec
from edgewatch.models import Market, OddsTick
from edgewatch.ticks.store import COLUMNS, store_ticks

KIND = "ticks"
SPEC = TableSpec("odds_ticks", keys=("venue", "venue_market_id", "tick_ts"), time_column="tick_ts")
SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "venue_market_id": pl.String(),
    "market_id": pl.Int64(),
    "tick_ts": UTC_MICROS,
    **{name: pl.Float64() for name in COLUMNS[2:]},
}


def read_ticks(connection: Connection | Session, start: datetime, end: datetime) -> pl.DataFrame:
    """Every stored tick with ``start <= tick_ts < end``, with its venue keys (``SCHEMA``)."""
    query = (
        select(
            Market.venue,
            Market.venue_market_id,
            *(getattr(OddsTick, name) for name in COLUMNS),
        )
        .join(Market, Market.id == OddsTick.market_id)
        .where(OddsTick.tick_ts >= start, OddsTick.tick_ts < end)
        .order_by(Market.venue, Market.venue_market_id, OddsTick.tick_ts)
    )
    rows = connection.execute(query).all()
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


@dataclass(frozen=True, slots=True)
class TickRestore:
    read: int
    stored: int
    unknown_market: int


def restore_ticks(session: Session, frame: pl.DataFrame) -> TickRestore:
    """Store archived ticks (``SCHEMA``) again; ticks already present are left as they are.

    Ticks whose market does not exist in this database are counted and skipped: a tick without
    its market would be corrupt data.
    """
    if frame.is_empty():
        return TickRestore(read=0, stored=0, unknown_market=0)
    keys = frame.select("venue", "venue_market_id").unique()
    known = session.execute(
        select(Market.venue, Market.venue_market_id, Market.id).where(
            Market.venue.in_(keys.get_column("venue").to_list()),
            Market.venue_market_id.in_(keys.get_column("venue_market_id").to_list()),
        )
    ).all()
    lookup = pl.DataFrame(
        known,
        schema={"venue": pl.String(), "venue_market_id": pl.String(), "id": pl.Int64()},
        orient="row",
    )
    mapped = frame.join(lookup, on=["venue", "venue_market_id"], how="inner").with_columns(
        pl.col("id").alias("market_id")
    )
    stored = store_ticks(session, mapped.select(COLUMNS))
    return TickRestore(
        read=frame.height, stored=stored, unknown_market=frame.height - mapped.height
    )
