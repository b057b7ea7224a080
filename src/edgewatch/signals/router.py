"""``/api/v1/signals``: stored trading signals, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import CursorParam, Page, decode_id_cursor, encode_cursor, split_page
from edgewatch.api.problems import invalid_query, problem_responses
from edgewatch.clock import as_utc
from edgewatch.signals import repository
from edgewatch.signals.schemas import SignalOut

router = APIRouter(prefix=f"{API_V1_PREFIX}/signals", tags=["signals"])


@router.get("", summary="List signals, newest first", responses=problem_responses(422))
def list_signals(
    session: SessionDep,
    strategy: Annotated[str | None, Query(max_length=64)] = None,
    market_id: Annotated[int | None, Query(ge=1)] = None,
    venue: Annotated[str | None, Query(max_length=32)] = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    min_edge: Annotated[
        float | None, Query(description="Minimum edge in dollars per contract.")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Inclusive lower bound on signal_ts (ISO 8601).")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Exclusive upper bound on signal_ts (ISO 8601).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[SignalOut]:
    """Signals ordered newest first (by id, the order they were written)."""
    since = as_utc(since) if since is not None else None
    until = as_utc(until) if until is not None else None
    if since is not None and until is not None and since > until:
        raise invalid_query("since", "'since' must not be later than 'until'")
    rows, has_more = split_page(
        repository.list_signals(
            session,
            limit=limit + 1,
            strategy=strategy,
            market_id=market_id,
            venue=venue,
            min_confidence=min_confidence,
            min_edge=min_edge,
            since=since,
            until=until,
            before_id=decode_id_cursor(cursor),
        ),
        limit,
    )
    return Page(
        items=[SignalOut.from_row(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].signal.id) if has_more else None,
    )
