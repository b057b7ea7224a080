"""``edgewatch import``: load a dataset directory (format: docs/data-format.md).

Markets are upserted first, then links, then ticks stream in bounded batches; each batch is
validated with polars expressions and committed on its own. Every write is idempotent (markets
only move forward, links are added once, ticks skip what is stored), so an import that dies
midway is finished by running it again, and importing the same dataset twice changes nothing.

Rejected rows never stop an import: they are counted by reason and the first
``MAX_QUARANTINED`` of them are kept in ``rejected_records`` with the raw row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.db.session import session_scope
from edgewatch.errors import InvalidPayload
from edgewatch.markets.service import MarketKey, market_ids, upsert_links, upsert_markets
from edgewatch.models.market import MARKET_STATUSES
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.ticks.dataset import (
    DEFAULT_BATCH_ROWS,
    LINK_COLUMNS,
    MARKET_COLUMNS,
    MARKETS_FILE,
    MAX_LENGTH,
    MAX_QUARANTINED,
    REQUIRED_LINK,
    REQUIRED_MARKET,
    Dataset,
    fee_schedule_for,
    iter_tick_batches,
    parse_time,
    read_small_csv,
    validate_ticks,
)
from edgewatch.ticks.quarantine import quarantine
from edgewatch.ticks.store import store_ticks
from edgewatch.venues.base import LinkRecord, MarketRecord, RejectedRecord


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
    markets = read_small_csv(dataset.directory / MARKETS_FILE, REQUIRED_MARKET, MARKET_COLUMNS[7:])
    summary.markets_read = markets.height
    with session_scope(factory) as session:
        records, bad = _market_records(markets)
        ids = upsert_markets(session, records)
        rejects.add(session, "market", bad)
    if dataset.links_path is not None:
        links = read_small_csv(dataset.links_path, REQUIRED_LINK, LINK_COLUMNS[6:])
        summary.links_read = links.height
        with session_scope(factory) as session:
            summary.links_added = _import_links(session, links, rejects)
    known_missing: set[MarketKey] = set()
    for raw in iter_tick_batches(dataset.ticks_path, batch_rows):
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
    for name, limit in MAX_LENGTH.items():
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
    for name in REQUIRED_LINK:
        if values[name] is None:
            raise InvalidPayload("missing_field", f"{name} is empty")
    if values["venue_a"] == values["venue_b"]:
        # As in the overrides file (markets/links.py): a link is a bet across two venues.
        raise InvalidPayload("same_venue", "a link joins markets on two different venues")
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
