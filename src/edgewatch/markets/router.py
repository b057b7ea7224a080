"""``/api/v1/markets``: the catalogue, one market with its links, and its ticks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic_core import to_json
from sqlalchemy import Row

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
    quote = repository.get_market(session, market_id)
    if quote is None:
        raise NotFound(f"Market {market_id} does not exist.")
    return MarketDetail.from_parts(quote, repository.list_links(session, market_id))


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
    if chosen == "raw":
        rows = repository.list_ticks(
            session,
            market_id,
            limit=limit + 1,
            start=start,
            end=end,
            after=after,
            descending=descending,
        )
    else:
        rows = repository.page_candles(
            session,
            market_id,
            width_seconds=CANDLE_SECONDS[chosen],
            limit=limit + 1,
            start=start,
            end=end,
            after=after,
            descending=descending,
        )
    # Rows prove the market exists; only an empty page pays for the query that tells them apart.
    if not rows and not repository.market_exists(session, market_id):
        raise NotFound(f"Market {market_id} does not exist.")
    return series_response(chosen, rows, limit)


def series_response(interval: TickInterval, rows: Sequence[Row[Any]], limit: int) -> Response:
    """A ``TickSeries`` page as JSON, written straight from the rows fetched with ``limit + 1``.

    Why not a ``TickSeries`` model: a page holds up to thousands of rows whose types the columns
    already fix, and building then serialising a model per row was most of the cost of an
    uncached chart read. ``pydantic_core.to_json`` writes the same bytes the model would
    (``tests/api/test_api_candles.py`` holds it to that); the route still declares ``TickSeries``
    as its response model, for the OpenAPI document. The cursor is the time of the page's last
    row, its first column.
    """
    page, has_more = split_page(list(rows), limit)
    columns = tuple(rows[0]._fields) if rows else ()
    body = {
        "interval": interval,
        "items": [dict(zip(columns, row, strict=True)) for row in page],
        "next_cursor": encode_cursor(page[-1][0]) if has_more else None,
    }
    return Response(to_json(body), media_type="application/json")


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
