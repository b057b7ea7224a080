"""``edgewatch export``: write a dataset directory that ``edgewatch import`` reads back exactly."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.errors import InvalidInput
from edgewatch.markets.service import MarketKey
from edgewatch.models import Market, MarketLink, OddsTick
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.ticks.dataset import (
    DEFAULT_BATCH_ROWS,
    EXPORT_TIME,
    LINK_COLUMNS,
    LINKS_FILE,
    MARKET_COLUMNS,
    MARKETS_FILE,
    PRICES,
    SIZES,
    TICKS_CSV,
    TICKS_PARQUET,
)


@dataclass(frozen=True, slots=True)
class ExportSummary:
    directory: Path
    markets: int
    ticks: int
    links: int

    def line(self) -> str:
        return (
            f"exported {self.markets} markets, {self.ticks} ticks and {self.links} links "
            f"to {self.directory}"
        )


def export_dataset(
    session: Session,
    directory: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    venue: str | None = None,
    parquet: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> ExportSummary:
    """Write markets (of ``venue``, or all), their ticks in ``[since, until)`` and their links.

    Ticks stream out in batches of ``batch_rows``. Links are written when both markets are
    exported and the link is confirmed or proposed (rejected links are review state, not data).
    Raises ``InvalidInput`` if ``directory`` already holds a dataset.
    """
    directory.mkdir(parents=True, exist_ok=True)
    existing = [
        n for n in (MARKETS_FILE, TICKS_CSV, TICKS_PARQUET, LINKS_FILE) if (directory / n).exists()
    ]
    if existing:
        raise InvalidInput(f"{directory} already holds {', '.join(existing)}; choose a new one")
    query = select(Market).order_by(Market.venue, Market.venue_market_id)
    if venue is not None:
        query = query.where(Market.venue == venue)
    markets = list(session.scalars(query))
    keys = {market.id: (market.venue, market.venue_market_id) for market in markets}
    _markets_frame(markets).write_csv(directory / MARKETS_FILE)
    links = _links_frame(session, keys)
    if links.height:
        links.write_csv(directory / LINKS_FILE)
    ticks = _export_ticks(
        session,
        directory,
        keys,
        since=since,
        until=until,
        venue=venue,
        parquet=parquet,
        batch_rows=batch_rows,
    )
    return ExportSummary(directory, markets=len(markets), ticks=ticks, links=links.height)


def _time_text(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _markets_frame(markets: list[Market]) -> pl.DataFrame:
    rows = [
        (
            m.venue,
            m.venue_market_id,
            m.title,
            _time_text(m.close_time),
            m.status,
            m.resolution,
            _time_text(m.resolved_at),
            None if m.fee_multiplier is None else str(m.fee_multiplier),
            None if m.fee_rate is None else str(m.fee_rate),
        )
        for m in markets
    ]
    return pl.DataFrame(rows, schema={n: pl.String for n in MARKET_COLUMNS}, orient="row")


def _links_frame(session: Session, keys: dict[int, MarketKey]) -> pl.DataFrame:
    rows = []
    links = session.scalars(
        select(MarketLink)
        .where(MarketLink.status.in_(("confirmed", "proposed")))
        .order_by(MarketLink.id)
    )
    for link in links:
        if link.market_a_id in keys and link.market_b_id in keys:
            a, b = keys[link.market_a_id], keys[link.market_b_id]
            rows.append((*a, *b, link.relation, link.status, repr(link.confidence)))
    return pl.DataFrame(rows, schema={n: pl.String for n in LINK_COLUMNS}, orient="row")


def _export_ticks(
    session: Session,
    directory: Path,
    keys: dict[int, MarketKey],
    *,
    since: datetime | None,
    until: datetime | None,
    venue: str | None,
    parquet: bool,
    batch_rows: int,
) -> int:
    columns = [getattr(OddsTick, name) for name in TICK_SCHEMA]
    query = select(*columns).order_by(OddsTick.market_id, OddsTick.tick_ts)
    if venue is not None:
        query = query.join(Market, Market.id == OddsTick.market_id).where(Market.venue == venue)
    if since is not None:
        query = query.where(OddsTick.tick_ts >= since)
    if until is not None:
        query = query.where(OddsTick.tick_ts < until)
    lookup = pl.DataFrame(
        [(id_, v, vid) for id_, (v, vid) in keys.items()],
        schema={"market_id": pl.Int64, "venue": pl.String, "venue_market_id": pl.String},
        orient="row",
    )
    written = 0
    result = session.execute(query.execution_options(yield_per=batch_rows))
    with _tick_writer(directory, parquet=parquet) as write:
        for chunk in result.partitions():
            frame = pl.DataFrame([tuple(r) for r in chunk], schema=TICK_SCHEMA, orient="row")
            frame = frame.join(lookup, on="market_id", how="left").select(
                "venue",
                pl.col("venue_market_id").alias("market_id"),
                pl.col("tick_ts").alias("ts"),
                *PRICES,
                *SIZES,
            )
            write(frame)
            written += frame.height
    return written


@contextmanager
def _tick_writer(directory: Path, *, parquet: bool) -> Iterator[Callable[[pl.DataFrame], None]]:
    """Append tick frames to ``ticks.csv``, or to Parquet parts merged into ``ticks.parquet``.

    Parts keep memory bounded: polars streams them into the one file at the end.
    """
    if not parquet:
        with (directory / TICKS_CSV).open("w", encoding="utf-8", newline="") as file:
            header = [True]

            def write_csv(frame: pl.DataFrame) -> None:
                text = frame.with_columns(pl.col("ts").dt.strftime(EXPORT_TIME))
                text.write_csv(file, include_header=header[0])
                header[0] = False

            yield write_csv
            if header[0]:
                write_csv(_empty_ticks())
        return
    parts = directory / ".ticks-parts"
    parts.mkdir()
    try:
        names: list[Path] = []

        def write_part(frame: pl.DataFrame) -> None:
            names.append(parts / f"{len(names):08d}.parquet")
            frame.write_parquet(names[-1])

        yield write_part
        if not names:
            write_part(_empty_ticks())
        pl.scan_parquet(names).sink_parquet(directory / TICKS_PARQUET, compression="zstd")
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _empty_ticks() -> pl.DataFrame:
    schema: dict[str, Any] = {
        "venue": pl.String,
        "market_id": pl.String,
        "ts": TICK_SCHEMA["tick_ts"],
    }
    schema.update({name: pl.Float64 for name in (*PRICES, *SIZES)})
    return pl.DataFrame(schema=schema)
