"""Running the quality checks over stored data and keeping their findings.

Two sources feed ``quality.checks``:

* stored ticks of the window (read per chunk of markets and per day, with ``lookback`` before
  each slice so gaps and stale quotes crossing its start are seen whole): gaps, stale quotes,
  jumps — and bad prices or duplicates, should any ever be stored;
* tick records quarantined during the window: ingest and import refuse crossed and out-of-range
  quotes and conflicting ticks at one instant, so this is where those problems are found (with
  the market they belong to).

Findings are merged into ``quality_findings``: one of the same market and kind that overlaps a
stored one extends it instead of adding a row, so re-running the checks, or overlapping windows,
never duplicate anything. Services flush and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edgewatch.clock import parse_timestamp
from edgewatch.config import Settings
from edgewatch.errors import EdgewatchError, InvalidInput
from edgewatch.markets.service import market_ids
from edgewatch.models import Market, OddsTick, QualityFinding, RejectedRecord
from edgewatch.observability.metrics import DATA_QUALITY_ISSUES
from edgewatch.quality.checks import (
    FINDING_SCHEMA,
    Thresholds,
    empty_findings,
    find_bad_prices,
    find_issues,
)

#: Markets read per query; with ``SLICE`` this bounds the ticks held in memory at once.
MARKETS_PER_CHUNK = 200
SLICE = timedelta(days=1)
#: The longest window one run checks: each day of it is read market chunk by market chunk.
MAX_WINDOW = timedelta(days=366)
#: Quarantine reasons that are data-quality problems of a known market (others are parse errors).
QUARANTINE_REASONS = ("crossed_quote", "out_of_range", "not_finite", "duplicate_timestamp")
#: The window of findings the metric and the readiness summary count.
RECENT = timedelta(hours=24)
_DURATION_KINDS = ("gap", "stale_quote")


@dataclass(slots=True)
class QualityRun:
    """What one run of the checks read and found."""

    ticks_checked: int = 0
    quarantined_checked: int = 0
    new: int = 0
    extended: int = 0
    #: Findings of this run (new, extended or already known) by kind.
    found: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.found.items())) or "none"
        return (
            f"{self.ticks_checked} ticks and {self.quarantined_checked} quarantined ticks checked; "
            f"findings: {kinds}; {self.new} new, {self.extended} extended"
        )


def thresholds_from(settings: Settings) -> Thresholds:
    return Thresholds(
        gap_factor=settings.quality_gap_factor,
        min_gap=timedelta(minutes=settings.quality_min_gap_minutes),
        stale_after=timedelta(minutes=settings.quality_stale_quote_minutes),
        jump=settings.quality_jump_threshold,
    )


def run_checks(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    thresholds: Thresholds,
    now: datetime,
    on_progress: Callable[[int, int], None] | None = None,
) -> QualityRun:
    """Check ticks in ``[start, end)`` and records quarantined then; store and count findings.

    ``on_progress(done, total)`` is called after each slice of markets and time.
    """
    if end <= start:
        raise InvalidInput("the window to check ends before it starts")
    if end - start > MAX_WINDOW:
        raise InvalidInput(
            f"the window to check is {(end - start).days:,} days long; at most "
            f"{MAX_WINDOW.days} are checked in one run: check a longer history in parts"
        )
    run = QualityRun()
    venues = _markets_with_ticks_since(session, start - thresholds.lookback)
    slices = list(_slices(start, end))
    ids = list(venues)
    chunks = [ids[i : i + MARKETS_PER_CHUNK] for i in range(0, len(ids), MARKETS_PER_CHUNK)]
    total, done = len(slices) * len(chunks) + 1, 0
    for lo, hi in slices:
        for chunk in chunks:
            ticks = _ticks(session, chunk, start=lo - thresholds.lookback, end=hi)
            run.ticks_checked += ticks.filter(pl.col("tick_ts") >= lo).height
            found = find_issues(ticks, thresholds).filter(pl.col("end_ts") >= lo)
            _store(session, found, venues, run)
            done += 1
            if on_progress is not None:
                on_progress(done, total)
    quarantined, market_venues = _quarantined_findings(session, start=start, end=end, run=run)
    _store(session, quarantined, market_venues, run)
    if on_progress is not None:
        on_progress(total, total)
    refresh_metrics(session, now=now)
    return run


def recent_counts(session: Session, *, now: datetime) -> dict[tuple[str, str], int]:
    """Findings whose episode ended in the last ``RECENT``, by (venue, kind)."""
    rows = session.execute(
        select(QualityFinding.venue, QualityFinding.kind, func.count())
        .where(QualityFinding.end_ts >= now - RECENT)
        .group_by(QualityFinding.venue, QualityFinding.kind)
    ).all()
    return {(venue, kind): count for venue, kind, count in rows}


def refresh_metrics(session: Session, *, now: datetime) -> dict[tuple[str, str], int]:
    """Set ``edgewatch_data_quality_issues`` from the stored findings; returns the counts."""
    counts = recent_counts(session, now=now)
    DATA_QUALITY_ISSUES.clear()
    for (venue, kind), count in counts.items():
        DATA_QUALITY_ISSUES.labels(venue=venue, kind=kind).set(count)
    return counts


# --- reading -------------------------------------------------------------------------------------


def _markets_with_ticks_since(session: Session, since: datetime) -> dict[int, str]:
    """Markets whose newest tick is at or after ``since`` (``last_tick_at``: no tick scan)."""
    rows = session.execute(
        select(Market.id, Market.venue).where(Market.last_tick_at >= since).order_by(Market.id)
    ).all()
    return {market_id: venue for market_id, venue in rows}


def _slices(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    lo = start
    while lo < end:
        hi = min(lo + SLICE, end)
        yield lo, hi
        lo = hi


def _ticks(
    session: Session, market_ids_: list[int], *, start: datetime, end: datetime
) -> pl.DataFrame:
    rows = session.execute(
        select(OddsTick.market_id, OddsTick.tick_ts, OddsTick.bid, OddsTick.ask, OddsTick.last)
        .where(OddsTick.market_id.in_(market_ids_))
        .where(OddsTick.tick_ts >= start, OddsTick.tick_ts < end)
    ).all()
    return pl.DataFrame(
        rows,
        schema={
            "market_id": pl.Int64,
            "tick_ts": pl.Datetime("us", "UTC"),
            "bid": pl.Float64,
            "ask": pl.Float64,
            "last": pl.Float64,
        },
        orient="row",
    )


def _quarantined_findings(
    session: Session, *, start: datetime, end: datetime, run: QualityRun
) -> tuple[pl.DataFrame, dict[int, str]]:
    """Findings in the tick records quarantined in ``[start, end)``, and their markets' venues."""
    records = session.execute(
        select(RejectedRecord.venue, RejectedRecord.reason, RejectedRecord.payload)
        .where(RejectedRecord.kind == "tick", RejectedRecord.reason.in_(QUARANTINE_REASONS))
        .where(RejectedRecord.created_at >= start, RejectedRecord.created_at < end)
    ).all()
    parsed = [row for row in (_parse(*record) for record in records) if row is not None]
    run.quarantined_checked = len(parsed)
    if not parsed:
        return empty_findings(), {}
    ids = market_ids(session, {(row["venue"], row["venue_market_id"]) for row in parsed})
    frame = pl.DataFrame(
        [
            {**row, "market_id": ids[(row["venue"], row["venue_market_id"])]}
            for row in parsed
            if (row["venue"], row["venue_market_id"]) in ids
        ],
        schema={
            "venue": pl.String,
            "venue_market_id": pl.String,
            "reason": pl.String,
            "tick_ts": pl.Datetime("us", "UTC"),
            "bid": pl.Float64,
            "ask": pl.Float64,
            "last": pl.Float64,
            "market_id": pl.Int64,
        },
    )
    # A quarantined duplicate is the extra tick: the one it clashed with was stored.
    duplicates = (
        frame.filter(pl.col("reason") == "duplicate_timestamp")
        .group_by("market_id", "tick_ts")
        .agg((pl.len() + 1).cast(pl.Int64).alias("tick_count"))
        .select(
            "market_id",
            pl.lit("duplicate_timestamp").alias("kind"),
            pl.col("tick_ts").alias("start_ts"),
            pl.col("tick_ts").alias("end_ts"),
            "tick_count",
            pl.col("tick_count").cast(pl.Float64).alias("value"),
            pl.format("{} ticks at the same time", pl.col("tick_count")).alias("detail"),
        )
    )
    found = pl.concat(
        [find_bad_prices(frame.filter(pl.col("reason") != "duplicate_timestamp")), duplicates],
        how="vertical_relaxed",
    ).select(pl.col(name).cast(dtype) for name, dtype in FINDING_SCHEMA.items())
    venues = dict(frame.select("market_id", "venue").unique("market_id").iter_rows())
    return found, venues


def _parse(venue: str, reason: str, payload: str) -> dict[str, Any] | None:
    """A quarantined tick's market, time and prices; None when the payload says too little.

    Ingest stores the tick record (``venue_market_id``, ``ts``); import the raw row
    (``market_id``, ``ts`` as ISO 8601 or epoch seconds).
    """
    try:
        raw = json.loads(payload)
        market = raw.get("venue_market_id") or raw.get("market_id")
        when = parse_timestamp(raw["ts"])
    except (ValueError, TypeError, KeyError, AttributeError, EdgewatchError):
        return None
    if not market:
        return None
    return {
        "venue": str(raw.get("venue") or venue),
        "venue_market_id": str(market),
        "reason": reason,
        "tick_ts": when,
        "bid": _number(raw.get("bid")),
        "ask": _number(raw.get("ask")),
        "last": _number(raw.get("last")),
    }


def _number(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


# --- storing -------------------------------------------------------------------------------------


def _store(session: Session, found: pl.DataFrame, venues: dict[int, str], run: QualityRun) -> None:
    """Merge ``found`` into ``quality_findings``: overlapping ones of a market and kind extend."""
    if found.is_empty():
        return
    run.found.update(found["kind"].to_list())
    markets = sorted(set(found["market_id"].to_list()))
    first, last = found["start_ts"].min(), found["end_ts"].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    stored: dict[tuple[int, str], list[QualityFinding]] = {}
    for finding in session.scalars(
        select(QualityFinding)
        .where(QualityFinding.market_id.in_(markets))
        .where(QualityFinding.start_ts <= last, QualityFinding.end_ts >= first)
    ):
        stored.setdefault((finding.market_id, finding.kind), []).append(finding)
    for row in found.iter_rows(named=True):
        same = stored.setdefault((row["market_id"], row["kind"]), [])
        match = next(
            (f for f in same if f.start_ts <= row["end_ts"] and f.end_ts >= row["start_ts"]),
            None,
        )
        if match is None:
            finding = QualityFinding(venue=venues.get(row["market_id"], "unknown"), **row)
            session.add(finding)
            same.append(finding)
            run.new += 1
        elif _extend(match, row):
            run.extended += 1
    session.flush()


def _extend(finding: QualityFinding, row: dict[str, Any]) -> bool:
    """Widen ``finding`` to cover ``row``; False when it already did (nothing changes)."""
    start, end = min(finding.start_ts, row["start_ts"]), max(finding.end_ts, row["end_ts"])
    if (start, end) == (finding.start_ts, finding.end_ts):
        return False
    finding.start_ts, finding.end_ts = start, end
    finding.tick_count = max(finding.tick_count, row["tick_count"])
    if finding.kind in _DURATION_KINDS:
        finding.value = (end - start).total_seconds()
    elif abs(row["value"]) > abs(finding.value):
        finding.value = row["value"]
    finding.detail = row["detail"]
    return True
