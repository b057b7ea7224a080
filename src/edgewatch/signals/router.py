"""``/api/v1/signals``: stored trading signals, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.cache import cached
from edgewatch.api.deps import ReadSessionDep
from edgewatch.api.pagination import CursorParam, Page, decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import IsoDateTime, id_query, ordered_window, text_filter, utc_param
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.signals import repository
from edgewatch.signals.schemas import SignalOut

router = APIRouter(route_class=ApiRoute, prefix=f"{API_V1_PREFIX}/signals", tags=["signals"])


@router.get(
    "",
    summary="List signals, newest first",
    responses=problem_responses(422),
    dependencies=[cached("signals", reads=("signals", "markets"), ttl_seconds=300)],
)
def list_signals(
    session: ReadSessionDep,
    strategy: Annotated[
        str | None, text_filter(max_length=64, description="Only this strategy.")
    ] = None,
    market_id: Annotated[int | None, id_query("Only signals on this market.")] = None,
    venue: Annotated[str | None, text_filter(max_length=32, description="Only this venue.")] = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1, allow_inf_nan=False)] = None,
    min_edge: Annotated[
        float | None,
        Query(
            ge=-1, le=1, allow_inf_nan=False, description="Minimum edge in dollars per contract."
        ),
    ] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="Inclusive lower bound on signal_ts (ISO 8601).")
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="Exclusive upper bound on signal_ts (ISO 8601).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[SignalOut]:
    """Signals ordered newest first (by id, the order they were written)."""
    since = utc_param(since, name="since")
    until = utc_param(until, name="until")
    ordered_window(since, until, start_name="since", end_name="until")
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
