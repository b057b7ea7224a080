"""Bring your own history: import and export dataset directories (format: docs/data-format.md).

A dataset is ``markets.csv``, ``ticks.csv`` or ``ticks.parquet``, and an optional ``links.csv``.
Import upserts markets first, then links, then streams ticks in bounded batches; each batch is
validated with polars expressions and committed on its own. Every write is idempotent (markets
only move forward, links are added once, ticks skip what is stored), so an import that dies
midway is finished by running it again, and importing the same dataset twice changes nothing.

Rejected rows never stop an import: they are counted by reason and the first
``MAX_QUARANTINED`` of them are kept in ``rejected_records`` with the raw row.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.db.session import session_scope
from edgewatch.errors import InvalidInput, InvalidPayload
from edgewatch.markets.service import MarketKey, market_ids, upsert_links, upsert_markets
from edgewatch.models import Market, MarketLink, OddsTick
from edgewatch.models.market import MARKET_STATUSES
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.ticks.quarantine import quarantine
from edgewatch.ticks.store import store_ticks
from edgewatch.venues.base import FeeSchedule, LinkRecord, MarketRecord, RejectedRecord

MARKETS_FILE = "markets.csv"
LINKS_FILE = "links.csv"
TICKS_CSV = "ticks.csv"
TICKS_PARQUET = "ticks.parquet"

MARKET_COLUMNS = (
    "venue",
    "market_id",
    "title",
    "close_time",
    "status",
    "resolution",
    "resolved_at",
    "fee_multiplier",
    "fee_rate",
)
TICK_COLUMNS = ("venue", "market_id", "ts", "bid", "ask", "last", "volume", "bid_size", "ask_size")
LINK_COLUMNS = ("venue_a", "market_a", "venue_b", "market_b", "relation", "status", "confidence")
_REQUIRED_MARKET = MARKET_COLUMNS[:7]
_REQUIRED_TICK = TICK_COLUMNS[:7]
_REQUIRED_LINK = LINK_COLUMNS[:6]
_PRICES = ("bid", "ask", "last")
_SIZES = ("volume", "bid_size", "ask_size")

DEFAULT_BATCH_ROWS = 100_000
#: Rejected rows kept with their payload per import; the rest are only counted.
MAX_QUARANTINED = 1_000
#: Column widths of ``markets`` (see models/market.py); longer values would abort the batch.
_MAX_LENGTH = {"venue": 32, "market_id": 200, "title": 500}
_ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z")
_EPOCH_PATTERN = r"^[+-]?\d+(\.\d+)?$"
_EXPORT_TIME = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset directory whose files exist and whose tick file has been counted."""

    directory: Path
    ticks_path: Path
    tick_rows: int

    @property
    def links_path(self) -> Path | None:
        path = self.directory / LINKS_FILE
        return path if path.exists() else None


@dataclass(slots=True)
class ImportSummary:
    markets_read: int = 0
    links_read: int = 0
    links_added: int = 0
    rows_read: int = 0
    stored: int = 0
    #: Rejected rows by ``"<kind>:<reason>"`` (kind is market, link or tick).
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def ticks_rejected(self) -> int:
        return sum(n for key, n in self.rejected.items() if key.startswith("tick:"))

    def line(self) -> str:
        """One line for the end of an import: rows read, stored and rejected with reasons."""
        reasons = ", ".join(f"{key} {n}" for key, n in sorted(self.rejected.items()))
        already = self.rows_read - self.stored - self.ticks_rejected
        return (
            f"{self.rows_read} tick rows read, {self.stored} stored, "
            f"{already} already present, {sum(self.rejected.values())} rejected"
            + (f" ({reasons})" if reasons else "")
            + f"; {self.markets_read} markets, {self.links_added} of {self.links_read} links added"
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


def fee_schedule_for(venue: str) -> FeeSchedule | None:
    """The fee model a venue name implies: ``kalshi*``/``sim_kalshi`` and the Polymarket twins."""
    name = venue.lower()
    if name.startswith("kalshi") or name == "sim_kalshi":
        return "kalshi"
    if name.startswith("polymarket") or name == "sim_polymarket":
        return "polymarket"
    return None


# --- reading -------------------------------------------------------------------------------------


def open_dataset(directory: Path) -> Dataset:
    """Check that ``directory`` holds a dataset and count its tick rows.

    Raises ``InvalidInput`` with one line naming the problem (a missing ``markets.csv``, no tick
    file or two of them, a file that cannot be read or lacks required columns).
    """
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory")
    if not (directory / MARKETS_FILE).is_file():
        raise InvalidInput(f"no {MARKETS_FILE} in {directory}")
    candidates = [directory / name for name in (TICKS_CSV, TICKS_PARQUET)]
    present = [path for path in candidates if path.exists()]
    if len(present) != 1:
        found = "both" if present else "neither"
        raise InvalidInput(f"{directory} must hold one of {TICKS_CSV} or {TICKS_PARQUET}, {found}")
    ticks_path = present[0]
    markets_path = directory / MARKETS_FILE
    _require_columns(markets_path, pl.scan_csv(markets_path, infer_schema=False), _REQUIRED_MARKET)
    if (directory / LINKS_FILE).exists():
        links_path = directory / LINKS_FILE
        _require_columns(links_path, pl.scan_csv(links_path, infer_schema=False), _REQUIRED_LINK)
    _require_columns(ticks_path, _scan_ticks(ticks_path), _REQUIRED_TICK)
    tick_rows = _readable(ticks_path, lambda: _scan_ticks(ticks_path).select(pl.len()).collect())
    return Dataset(directory=directory, ticks_path=ticks_path, tick_rows=int(tick_rows.item()))


def _readable(path: Path, read: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    try:
        return read()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InvalidInput(f"cannot read {path}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _scan_ticks(path: Path) -> pl.LazyFrame:
    if path.suffix == ".parquet":
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False)


def _require_columns(path: Path, frame: pl.LazyFrame, required: tuple[str, ...]) -> None:
    names = _readable(path, lambda: frame.head(0).collect()).columns
    missing = [name for name in required if name not in names]
    if missing:
        raise InvalidInput(f"{path} lacks required columns: {', '.join(missing)}")


def _read_small_csv(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...]
) -> pl.DataFrame:
    frame = _readable(path, lambda: pl.read_csv(path, infer_schema=False))
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise InvalidInput(f"{path} lacks required columns: {', '.join(missing)}")
    absent = [pl.lit(None, pl.String).alias(name) for name in optional if name not in frame.columns]
    return frame.with_columns(absent).select(*required, *optional)


def _iter_tick_batches(path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    try:
        if path.suffix == ".parquet":
            lazy = pl.scan_parquet(path)
            total = lazy.select(pl.len()).collect().item()
            for offset in range(0, total, batch_rows):
                yield lazy.slice(offset, batch_rows).collect()
        else:
            yield from pl.scan_csv(path, infer_schema=False).collect_batches(chunk_size=batch_rows)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InvalidInput(f"cannot read {path}: {_first_line(exc)}") from None


# --- vectorised parsing and validation -----------------------------------------------------------


def parse_time(column: str, dtype: pl.DataType) -> pl.Expr:
    """``column`` as UTC microseconds; null where it is not ISO 8601 with offset or epoch seconds.

    Naive ISO times are refused (null): a guessed zone would silently shift every tick.
    """
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return pl.lit(None, pl.Datetime("us", "UTC"))
        return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if dtype.is_numeric():
        return _from_epoch(col.cast(pl.Float64))
    raw = col.cast(pl.String).str.strip_chars()
    iso = raw.str.replace(r"[Zz]$", "+00:00").str.replace(r"^(\d{4}-\d{2}-\d{2})[ t]", "${1}T")
    parsed = [
        iso.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
        for fmt in _ISO_FORMATS
    ]
    return (
        pl.when(raw.str.contains(_EPOCH_PATTERN))
        .then(_from_epoch(raw.cast(pl.Float64, strict=False)))
        .otherwise(pl.coalesce(parsed))
    )


def _from_epoch(seconds: pl.Expr) -> pl.Expr:
    micros = (seconds * 1_000_000).round().cast(pl.Int64, strict=False)
    return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")


def _number(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        text = pl.col(column).str.strip_chars()
        return pl.when(text == "").then(None).otherwise(text).cast(pl.Float64, strict=False)
    return pl.col(column).cast(pl.Float64, strict=False)


def _present(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return pl.col(column).str.strip_chars().fill_null("") != ""
    return pl.col(column).is_not_null()


def _text(column: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars()


def validate_ticks(raw: pl.DataFrame) -> pl.DataFrame:
    """Parse a raw tick batch into typed columns plus ``reason`` (null for a good row).

    Reasons, first match wins: ``missing_field``, ``bad_time``, ``wrong_type``, ``not_finite``,
    ``out_of_range``, ``empty_quote``, ``crossed_quote``, ``negative_size``.
    """
    schema = raw.schema
    raw = raw.with_columns(
        pl.lit(None, pl.String).alias(name) for name in TICK_COLUMNS if name not in schema
    )
    schema = raw.schema
    numbers = [*_PRICES, *_SIZES]
    typed = raw.select(
        _text("venue", schema["venue"]).alias("venue"),
        _text("market_id", schema["market_id"]).alias("venue_market_id"),
        parse_time("ts", schema["ts"]).alias("tick_ts"),
        *(_number(name, schema[name]).alias(name) for name in numbers),
        pl.any_horizontal(
            _present(name, schema[name]) & _number(name, schema[name]).is_null() for name in numbers
        ).alias("_wrong_type"),
    )
    prices = [pl.col(name) for name in _PRICES]
    not_finite = pl.any_horizontal(p.is_nan() | p.is_infinite() for p in prices).fill_null(False)
    out_of_range = pl.any_horizontal((p < 0) | (p > 1) for p in prices).fill_null(False)
    sizes = [pl.col(name) for name in _SIZES]
    bad_size = pl.any_horizontal(s.is_nan() | s.is_infinite() | (s < 0) for s in sizes).fill_null(
        False
    )
    missing = (pl.col("venue").fill_null("") == "") | (
        pl.col("venue_market_id").fill_null("") == ""
    )
    reason = (
        pl.when(missing)
        .then(pl.lit("missing_field"))
        .when(pl.col("tick_ts").is_null())
        .then(pl.lit("bad_time"))
        .when(pl.col("_wrong_type"))
        .then(pl.lit("wrong_type"))
        .when(not_finite)
        .then(pl.lit("not_finite"))
        .when(out_of_range)
        .then(pl.lit("out_of_range"))
        .when(pl.all_horizontal(p.is_null() for p in prices))
        .then(pl.lit("empty_quote"))
        .when((pl.col("bid") > pl.col("ask")).fill_null(False))
        .then(pl.lit("crossed_quote"))
        .when(bad_size)
        .then(pl.lit("negative_size"))
        .otherwise(pl.lit(None, pl.String))
    )
    return typed.with_columns(reason.alias("reason")).drop("_wrong_type")


# --- import --------------------------------------------------------------------------------------


class _Quarantine:
    """Counts every rejected row of an import and keeps the first ``limit`` with their payload."""

    def __init__(self, summary: ImportSummary, limit: int) -> None:
        self.summary = summary
        self.room = limit

    def count(self, kind: str, reasons: Mapping[str, int]) -> None:
        self.summary.rejected.update({f"{kind}:{reason}": n for reason, n in reasons.items()})

    def keep(self, session: Session, kind: str, rows: list[tuple[str, str, str]]) -> None:
        """Quarantine (venue, reason, payload) rows while there is room; they are counted apart."""
        kept = rows[: max(self.room, 0)]
        self.room -= len(kept)
        records = [RejectedRecord(venue or "import", kind, reason, p) for venue, reason, p in kept]
        quarantine(session, records, pipeline_run_id=None)

    def add(self, session: Session, kind: str, rows: list[tuple[str, str, str]]) -> None:
        self.count(kind, Counter(reason for _, reason, _ in rows))
        self.keep(session, kind, rows)


def import_dataset(
    factory: sessionmaker[Session],
    dataset: Dataset,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import ``dataset``: markets, then links, then ticks in batches of ``batch_rows``.

    Each step and each tick batch is its own transaction, so a killed import leaves whole
    batches behind and a re-run completes it. ``on_batch`` receives the rows of each batch.
    Raises ``InvalidInput`` for unreadable files; bad rows are rejected, never raised.
    """
    summary = ImportSummary()
    rejects = _Quarantine(summary, MAX_QUARANTINED)
    markets = _read_small_csv(
        dataset.directory / MARKETS_FILE, _REQUIRED_MARKET, MARKET_COLUMNS[7:]
    )
    summary.markets_read = markets.height
    with session_scope(factory) as session:
        records, bad = _market_records(markets)
        ids = upsert_markets(session, records)
        rejects.add(session, "market", bad)
    if dataset.links_path is not None:
        links = _read_small_csv(dataset.links_path, _REQUIRED_LINK, LINK_COLUMNS[6:])
        summary.links_read = links.height
        with session_scope(factory) as session:
            summary.links_added = _import_links(session, links, rejects)
    known_missing: set[MarketKey] = set()
    for raw in _iter_tick_batches(dataset.ticks_path, batch_rows):
        with session_scope(factory) as session:
            summary.stored += _import_tick_batch(session, raw, ids, known_missing, rejects)
        summary.rows_read += raw.height
        if on_batch is not None:
            on_batch(raw.height)
    return summary


def _market_records(markets: pl.DataFrame) -> tuple[list[MarketRecord], list[tuple[str, str, str]]]:
    parsed = markets.with_columns(
        parse_time("close_time", pl.String()).alias("_close_time"),
        parse_time("resolved_at", pl.String()).alias("_resolved_at"),
    )
    records: list[MarketRecord] = []
    rejected: list[tuple[str, str, str]] = []
    for row in parsed.iter_rows(named=True):
        raw = {name: row[name] for name in MARKET_COLUMNS}
        try:
            records.append(_market_record(row))
        except InvalidPayload as exc:
            rejected.append((row["venue"] or "", exc.reason, json.dumps(raw)))
    return records, rejected


def _market_record(row: Mapping[str, Any]) -> MarketRecord:
    values: dict[str, Any] = {
        k: (v.strip() if isinstance(v, str) else v) or None for k, v in row.items()
    }
    for name in ("venue", "market_id", "title", "status"):
        if values[name] is None:
            raise InvalidPayload("missing_field", f"{name} is empty")
    for name, limit in _MAX_LENGTH.items():
        if len(values[name]) > limit:
            raise InvalidPayload("too_long", f"{name} is longer than {limit} characters")
    if values["status"] not in MARKET_STATUSES:
        raise InvalidPayload("bad_status", f"unknown status {values['status']!r}")
    if values["resolution"] not in (None, "yes", "no", "void"):
        raise InvalidPayload("bad_resolution", f"unknown resolution {values['resolution']!r}")
    for name in ("close_time", "resolved_at"):
        if values[name] is not None and values[f"_{name}"] is None:
            raise InvalidPayload("bad_time", f"{name} is not ISO 8601 with offset nor epoch")
    venue: str = values["venue"]
    schedule = fee_schedule_for(venue)
    multiplier = _fee(values["fee_multiplier"], "fee_multiplier")
    if schedule == "kalshi" and multiplier is None:
        multiplier = Decimal(1)
    return MarketRecord(
        venue=venue,
        venue_market_id=values["market_id"],
        title=values["title"],
        status=values["status"],
        close_time=values["_close_time"],
        resolution=values["resolution"],
        resolved_at=values["_resolved_at"],
        fee_schedule=schedule,
        fee_multiplier=multiplier,
        fee_rate=_fee(values["fee_rate"], "fee_rate"),
    )


def _fee(text: str | None, name: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidPayload("bad_fee", f"{name} is not a number: {text!r}") from None
    # Numeric(10, 6) holds values below 10_000.
    if not value.is_finite() or value < 0 or value >= 10_000:
        raise InvalidPayload("bad_fee", f"{name} {text!r} is out of range")
    return value


def _import_links(session: Session, links: pl.DataFrame, rejects: _Quarantine) -> int:
    parsed: list[tuple[LinkRecord, dict[str, Any]]] = []
    rejected: list[tuple[str, str, str]] = []
    for row in links.iter_rows(named=True):
        try:
            parsed.append((_link_record(row), row))
        except InvalidPayload as exc:
            rejected.append((row["venue_a"] or "", exc.reason, json.dumps(row)))
    keys = [key for r, _ in parsed for key in ((r.venue_a, r.market_a), (r.venue_b, r.market_b))]
    ids = market_ids(session, keys)
    usable: list[LinkRecord] = []
    for record, row in parsed:
        if (record.venue_a, record.market_a) in ids and (record.venue_b, record.market_b) in ids:
            usable.append(record)
        else:
            rejected.append((record.venue_a, "unknown_market", json.dumps(row)))
    rejects.add(session, "link", rejected)
    return upsert_links(session, usable, source="import", ids=ids)


def _link_record(row: Mapping[str, Any]) -> LinkRecord:
    values: dict[str, Any] = {
        k: (v.strip() if isinstance(v, str) else v) or None for k, v in row.items()
    }
    for name in _REQUIRED_LINK:
        if values[name] is None:
            raise InvalidPayload("missing_field", f"{name} is empty")
    if values["relation"] not in ("same", "complement"):
        raise InvalidPayload("bad_relation", f"unknown relation {values['relation']!r}")
    if values["status"] not in ("confirmed", "proposed"):
        raise InvalidPayload("bad_status", f"unknown link status {values['status']!r}")
    confidence = 1.0
    if values["confidence"] is not None:
        try:
            confidence = float(values["confidence"])
        except ValueError:
            raise InvalidPayload("wrong_type", "confidence is not a number") from None
        if not 0.0 <= confidence <= 1.0:
            raise InvalidPayload("out_of_range", f"confidence {confidence} is outside [0, 1]")
    return LinkRecord(
        venue_a=values["venue_a"],
        market_a=values["market_a"],
        venue_b=values["venue_b"],
        market_b=values["market_b"],
        relation=values["relation"],
        confidence=confidence,
        status=values["status"],
    )


def _import_tick_batch(
    session: Session,
    raw: pl.DataFrame,
    ids: dict[MarketKey, int],
    known_missing: set[MarketKey],
    rejects: _Quarantine,
) -> int:
    checked = validate_ticks(raw).with_row_index("_row")
    keys = checked.filter(pl.col("reason").is_null()).select("venue", "venue_market_id").unique()
    wanted = [k for k in keys.iter_rows() if k not in ids and k not in known_missing]
    if wanted:
        found = market_ids(session, wanted)
        ids.update(found)
        known_missing.update(k for k in wanted if k not in found)
    lookup = pl.DataFrame(
        [(venue, vid, id_) for (venue, vid), id_ in ids.items()],
        schema={"venue": pl.String, "venue_market_id": pl.String, "market_id": pl.Int64},
        orient="row",
    )
    checked = checked.join(lookup, on=["venue", "venue_market_id"], how="left").with_columns(
        pl.when(pl.col("reason").is_null() & pl.col("market_id").is_null())
        .then(pl.lit("unknown_market"))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
    bad = checked.filter(pl.col("reason").is_not_null()).select("_row", "reason")
    if bad.height:
        rejects.count("tick", dict(bad.group_by("reason").len().iter_rows()))
        # Payloads only for rows that will be kept: a file of bad rows stays cheap to reject.
        kept = bad.head(max(rejects.room, 0))
        raw_rows = raw.select(pl.all().gather(kept["_row"])).iter_rows(named=True)
        rejects.keep(
            session,
            "tick",
            [
                (str(row.get("venue") or ""), reason, _payload(row))
                for row, reason in zip(raw_rows, kept["reason"], strict=True)
            ],
        )
    good = checked.filter(pl.col("reason").is_null()).select(
        pl.col(name).cast(dtype) for name, dtype in TICK_SCHEMA.items()
    )
    return store_ticks(session, good)


def _payload(row: Mapping[str, object]) -> str:
    return json.dumps(row, default=str)


# --- export --------------------------------------------------------------------------------------


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
                *_PRICES,
                *_SIZES,
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
                text = frame.with_columns(pl.col("ts").dt.strftime(_EXPORT_TIME))
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
    schema.update({name: pl.Float64 for name in (*_PRICES, *_SIZES)})
    return pl.DataFrame(schema=schema)
