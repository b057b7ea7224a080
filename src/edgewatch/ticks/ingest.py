"""The ingest pipeline: fetch → validate → normalise → store, for one source.

Crash-only: the run's cursor is the end of the window it stored; the next run starts there. A run
that dies stores nothing (one transaction), and the next run fetches the same window again, which
is harmless because storage skips ticks it already has.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy.orm import Session

from edgewatch.errors import InvalidPayload
from edgewatch.jobs.runner import PipelineContext, PipelineFn, PipelineOutcome
from edgewatch.markets.service import upsert_links, upsert_markets
from edgewatch.observability.metrics import RECORDS_REJECTED, TICKS_INGESTED
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.ticks.quarantine import quarantine
from edgewatch.ticks.store import store_ticks
from edgewatch.venues.base import RejectedRecord, TickRecord, Venue
from edgewatch.venues.validation import check_tick


def ingest_window(
    session: Session,
    venue: Venue,
    *,
    since: datetime | None,
    until: datetime,
    pipeline_run_id: int | None = None,
) -> PipelineOutcome:
    """Fetch ``(since, until]`` from ``venue`` and store it; return the counts."""
    result = venue.fetch(since=since, until=until)
    ids = upsert_markets(session, result.markets)
    links_added = upsert_links(session, result.links, source=venue.name, ids=ids)
    rejected: list[RejectedRecord] = list(result.rejected)
    rows: list[tuple[object, ...]] = []
    # The first quote of a market at an instant is kept; a different one at the same instant is
    # a duplicate timestamp (quarantined); an identical repeat is harmless and dropped.
    seen: dict[tuple[int, datetime], tuple[object, ...]] = {}
    for tick in result.ticks:
        market_id = ids.get((tick.venue, tick.venue_market_id))
        row = (
            market_id,
            tick.ts,
            tick.bid,
            tick.ask,
            tick.last,
            tick.volume,
            tick.bid_size,
            tick.ask_size,
        )
        try:
            check_tick(tick)
            if market_id is None:
                raise InvalidPayload("unknown_market", f"no market {tick.venue_market_id}")
            first = seen.setdefault((market_id, tick.ts), row)
            if first != row:
                raise InvalidPayload("duplicate_timestamp", "another quote at the same time")
        except InvalidPayload as exc:
            rejected.append(RejectedRecord(tick.venue, "tick", exc.reason, _payload(tick)))
            RECORDS_REJECTED.labels(venue=tick.venue, reason=exc.reason).inc()
            continue
        if first is row:
            rows.append(row)
    frame = pl.DataFrame(rows, schema=TICK_SCHEMA, orient="row")
    stored = store_ticks(session, frame)
    quarantine(session, rejected, pipeline_run_id=pipeline_run_id)
    if stored:
        TICKS_INGESTED.labels(venue=venue.name).inc(stored)
    return PipelineOutcome(
        rows_in=len(result.ticks) + len(result.rejected),
        rows_stored=stored,
        rows_rejected=len(rejected),
        cursor=until.isoformat(),
        details={"markets_seen": len(result.markets), "links_added": links_added},
    )


def ingest_pipeline(venue: Venue) -> PipelineFn:
    """A pipeline step that resumes from the previous run's cursor, bounded by the backfill."""

    def run(session: Session, context: PipelineContext) -> PipelineOutcome:
        earliest = context.now - timedelta(minutes=context.settings.ingest_backfill_minutes)
        since = earliest
        if context.previous_cursor:
            since = max(datetime.fromisoformat(context.previous_cursor), earliest)
        return ingest_window(
            session, venue, since=since, until=context.now, pipeline_run_id=context.run_id
        )

    return run


def _payload(tick: TickRecord) -> str:
    return json.dumps(asdict(tick), default=str)
