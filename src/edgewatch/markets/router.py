"""``/api/v1/markets``: the catalogue, one market with its links, and its ticks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.cache import cached
from edgewatch.api.deps import ReadSessionDep
from edgewatch.api.pagination import (
    CursorParam,
    Page,
    decode_id_cursor,
    decode_time_cursor,
    encode_cursor,
    split_page,
)
from edgewatch.api.params import MAX_ID, ordered_window, text_filter, utc_param
from edgewatch.api.problems import problem_responses
from edgewatch.errors import NotFound
from edgewatch.markets import repository
from edgewatch.markets.schemas import MarketDetail, MarketStatus, MarketSummary, TickOut

router = APIRouter(prefix=f"{API_V1_PREFIX}/markets", tags=["markets"])

MarketId = Annotated[int, Path(ge=1, le=MAX_ID, description="Edgewatch market id.")]


@router.get(
    "",
    summary="List markets with their latest quote",
    responses=problem_responses(422),
    dependencies=[cached("markets", reads=("markets", "ticks"), ttl_seconds=300)],
)
def list_markets(
    session: ReadSessionDep,
    venue: Annotated[str | None, text_filter(max_length=32, description="Only this venue.")] = None,
    status: Annotated[MarketStatus | None, Query(description="Only this status.")] = None,
    q: Annotated[
        str | None,
        text_filter(max_length=200, description="Case-insensitive title substring."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[MarketSummary]:
    """Markets ordered by id, each with its latest bid, ask, last and tick time."""
    rows, has_more = split_page(
        repository.list_markets(
            session,
            limit=limit + 1,
            venue=venue,
            status=status,
            title_contains=q,
            after_id=decode_id_cursor(cursor),
        ),
        limit,
    )
    return Page(
        items=[MarketSummary.from_quote(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].market.id) if has_more else None,
    )


@router.get(
    "/{market_id}",
    summary="Get one market with its cross-venue links",
    responses=problem_responses(404, 422),
    dependencies=[cached("market", reads=("markets", "ticks"), ttl_seconds=600)],
)
def get_market(session: ReadSessionDep, market_id: MarketId) -> MarketDetail:
    quote = repository.get_market(session, market_id)
    if quote is None:
        raise NotFound(f"Market {market_id} does not exist.")
    return MarketDetail.from_parts(quote, repository.list_links(session, market_id))


@router.get(
    "/{market_id}/ticks",
    summary="List a market's ticks in a time window",
    responses=problem_responses(404, 422),
    dependencies=[cached("ticks", reads=("ticks",), ttl_seconds=900)],
)
def list_ticks(
    session: ReadSessionDep,
    market_id: MarketId,
    start: Annotated[
        datetime | None,
        Query(alias="from", description="Inclusive start (ISO 8601; naive means UTC)."),
    ] = None,
    end: Annotated[
        datetime | None,
        Query(alias="to", description="Exclusive end (ISO 8601; naive means UTC)."),
    ] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="Time order.")] = "asc",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    cursor: CursorParam = None,
) -> Page[TickOut]:
    """Ticks in ``[from, to)``, oldest first unless ``order=desc``."""
    start = utc_param(start, name="from")
    end = utc_param(end, name="to")
    ordered_window(start, end, start_name="from", end_name="to")
    after = decode_time_cursor(cursor)
    if not repository.market_exists(session, market_id):
        raise NotFound(f"Market {market_id} does not exist.")
    rows, has_more = split_page(
        list(
            repository.list_ticks(
                session,
                market_id,
                limit=limit + 1,
                start=start,
                end=end,
                after=after,
                descending=order == "desc",
            )
        ),
        limit,
    )
    return Page(
        items=[TickOut.model_validate(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].tick_ts) if has_more else None,
    )
