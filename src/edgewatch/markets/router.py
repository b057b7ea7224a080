"""``/api/v1/markets``: the catalogue, one market with its links, and its ticks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic_core import to_json

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
from edgewatch.api.params import MAX_ID, IsoDateTime, ordered_window, text_filter, utc_param
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.clock import utcnow
from edgewatch.errors import NotFound
from edgewatch.markets import repository
from edgewatch.markets.schemas import (
    MarketDetail,
    MarketStatus,
    MarketSummary,
    TickInterval,
    TickSeries,
)
from edgewatch.markets.series import read_page

router = APIRouter(route_class=ApiRoute, prefix=f"{API_V1_PREFIX}/markets", tags=["markets"])

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
    found = repository.market_detail(session, market_id)
    if found is None:
        raise NotFound(f"Market {market_id} does not exist.")
    return MarketDetail.from_rows(*found)


@router.get(
    "/{market_id}/ticks",
    summary="List a market's ticks in a time window",
    responses=problem_responses(404, 422),
    dependencies=[cached("ticks", reads=("ticks",), ttl_seconds=900)],
    response_model=TickSeries,
)
def list_ticks(
    session: ReadSessionDep,
    market_id: MarketId,
    start: Annotated[
        IsoDateTime | None,
        Query(alias="from", description="Inclusive start (ISO 8601; naive means UTC)."),
    ] = None,
    end: Annotated[
        IsoDateTime | None,
        Query(alias="to", description="Exclusive end (ISO 8601; naive means UTC)."),
    ] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="Time order.")] = "asc",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    cursor: CursorParam = None,
    interval: Annotated[
        Literal["auto", "raw", "1m", "1h"],
        Query(description="Raw ticks, 1-minute or 1-hour candles, or `auto` (by window length)."),
    ] = "auto",
) -> Response:
    """Ticks in ``[from, to)``, oldest first unless ``order=desc``; candles for long windows."""
    start = utc_param(start, name="from")
    end = utc_param(end, name="to")
    ordered_window(start, end, start_name="from", end_name="to")
    after = decode_time_cursor(cursor)
    chosen = (
        choose_interval(start, end, now=utcnow(), limit=limit) if interval == "auto" else interval
    )
    descending = order == "desc"
    window = {"market_id": market_id, "start": start, "end": end, "after": after}
    if chosen == "raw":
        page = read_page(
            session, repository.ticks_query, limit=limit, descending=descending, **window
        )
    else:
        width = CANDLE_SECONDS[chosen]
        if start is not None:
            window["start"] = repository.bucket_floor(start, width)
        page = read_page(
            session,
            repository.candles_query,
            limit=limit,
            descending=descending,
            width_seconds=width,
            **window,
        )
    # Rows prove the market exists; only an empty page pays for the query that tells them apart.
    if page.rows == 0 and not repository.market_exists(session, market_id):
        raise NotFound(f"Market {market_id} does not exist.")
    cursor_json = to_json(encode_cursor(page.more_after) if page.more_after else None)
    body = b'{"interval":"%s","items":%s,"next_cursor":%s}' % (
        chosen.encode(),
        page.items,
        cursor_json,
    )
    return Response(body, media_type="application/json")


#: Longest window ``interval=auto`` serves as raw ticks: an hour is 720 ticks at the simulator's
#: 5 s and 360 at the default 10 s ingest interval — beyond that a chart cannot show single ticks.
RAW_MAX_WINDOW = timedelta(hours=1)
CANDLE_SECONDS = {"1m": 60, "1h": 3600}


def choose_interval(
    start: datetime | None, end: datetime | None, *, now: datetime, limit: int
) -> TickInterval:
    """What ``interval=auto`` serves for ``[start, end)`` (``end`` defaults to now).

    Raw ticks without a start (paging back from the newest) or for windows up to
    ``RAW_MAX_WINDOW``; 1-minute candles while the window fits in one page of ``limit`` of them;
    1-hour candles beyond, so a chart of any length comes back in a bounded number of pages.
    """
    if start is None:
        return "raw"
    window = (end or now) - start
    if window <= RAW_MAX_WINDOW:
        return "raw"
    if window <= timedelta(minutes=limit):
        return "1m"
    return "1h"
