"""``/markets``: the searchable catalogue across venues, and one market's page with its chart.

The chart reads a bounded window ending at the market's newest tick: raw ticks for short ranges,
1-minute or 1-hour candles (``ticks.candles``) for long ones, at most ``MAX_POINTS`` rows walked
backwards on a primary key, and the same window of up to ``MAX_OVERLAYS`` linked markets. History
never loads whole, however long it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import MAX_ID
from edgewatch.dashboard import forms
from edgewatch.dashboard.charts import (
    ChartSpec,
    Marker,
    Overlay,
    candle_chart,
    market_chart,
    volume_chart,
)
from edgewatch.dashboard.routing import DashboardRoute, url_with
from edgewatch.dashboard.templating import render
from edgewatch.errors import NotFound
from edgewatch.markets import repository
from edgewatch.models.market import MARKET_STATUSES
from edgewatch.signals.repository import list_signals

router = APIRouter(route_class=DashboardRoute)

PAGE_SIZE = 50
#: Most points one chart series reads: ticks for short ranges, candles for long ones.
MAX_POINTS = 2_000
MAX_OVERLAYS = 2
SIGNALS_ON_CHART = 200
#: Chart ranges offered, ending at the market's newest tick: each reads raw ticks (None) or
#: candles of a width (seconds), so no range reads more than ``MAX_POINTS`` rows per market.
RANGES: dict[str, tuple[timedelta, int | None]] = {
    "1h": (timedelta(hours=1), None),
    "6h": (timedelta(hours=6), None),
    "24h": (timedelta(hours=24), 60),
    "7d": (timedelta(days=7), 3600),
    "30d": (timedelta(days=30), 3600),
}
DEFAULT_RANGE = "6h"

Text = Annotated[str | None, Query(max_length=300)]


@router.get("/markets", summary="Dashboard: markets (HTML)", response_class=HTMLResponse)
def markets(
    request: Request,
    session: SessionDep,
    q: Text = None,
    venue: Text = None,
    status: Text = None,
    cursor: Text = None,
) -> Response:
    title = forms.text(q, name="search")
    venues = repository.venue_names(session)
    chosen_venue = forms.choice(venue, name="venue", allowed=venues) if venues else None
    chosen_status = forms.choice(status, name="status", allowed=MARKET_STATUSES)
    rows, has_more = split_page(
        repository.list_markets(
            session,
            limit=PAGE_SIZE + 1,
            venue=chosen_venue,
            status=chosen_status,
            title_contains=title,
            after_id=decode_id_cursor(forms.text(cursor, name="cursor")),
        ),
        PAGE_SIZE,
    )
    next_url = url_with(request, cursor=encode_cursor(rows[-1].market.id)) if has_more else None
    return render(
        request,
        "markets.html",
        {
            "rows": rows,
            "filters": {"q": title or "", "venue": chosen_venue, "status": chosen_status},
            "filtered": bool(title or chosen_venue or chosen_status),
            "venues": venues,
            "statuses": MARKET_STATUSES,
            "next_url": next_url,
            "first_url": url_with(request, cursor=None) if cursor else None,
        },
    )


@router.get(
    "/markets/{market_id}", summary="Dashboard: one market (HTML)", response_class=HTMLResponse
)
def market(
    request: Request,
    session: SessionDep,
    market_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    range_: Annotated[str | None, Query(alias="range", max_length=8)] = None,
) -> Response:
    chosen = forms.choice(range_, name="range", allowed=RANGES) or DEFAULT_RANGE
    span, width = RANGES[chosen]
    quote = repository.get_market(session, market_id)
    if quote is None:
        raise NotFound(f"Market {market_id} does not exist.")
    links = repository.list_links(session, market_id, limit=20)
    linked = [item for item in links if item.link.status != "rejected"][:MAX_OVERLAYS]
    price = ChartSpec(x=[], series=[])
    volume = ChartSpec(x=[], series=[])
    points, truncated = 0, False
    end = quote.market.last_tick_at
    if end is not None:
        start, until = end - span, end + timedelta(microseconds=1)
        rows = _series_of(session, market_id, width, start=start, until=until)
        points, truncated = len(rows), len(rows) == MAX_POINTS
        if truncated:
            start = rows[0].tick_ts if width is None else rows[0].bucket_start
        overlays = [
            Overlay(
                label=f"{item.other.venue} mid"
                + (" (as 1 − mid)" if item.link.relation == "complement" else ""),
                ticks=_series_of(session, item.other.id, width, start=start, until=until),
                complement=item.link.relation == "complement",
            )
            for item in linked
        ]
        # A NO signal's limit price is the price of NO; on this chart of P(YES) it sits at 1 − p.
        markers = [
            Marker(
                at=row.signal.signal_ts,
                side=row.signal.side,
                price=row.signal.limit_price
                if row.signal.side == "yes"
                else 1.0 - row.signal.limit_price,
            )
            for row in list_signals(
                session, market_id=market_id, since=start, until=until, limit=SIGNALS_ON_CHART
            )
        ]
        if width is None:
            price, volume = market_chart(rows, overlays, markers), volume_chart(rows)
        else:
            price = candle_chart(rows, overlays, markers)
            volume = volume_chart(rows, at="bucket_start")
    return render(
        request,
        "market.html",
        {
            "quote": quote,
            "links": links,
            "price_chart": price,
            "volume": volume,
            "points": points,
            "from_candles": width,
            "truncated": truncated,
            "max_points": MAX_POINTS,
            "ranges": list(RANGES),
            "range": chosen,
            "signals": list_signals(session, market_id=market_id, limit=20),
            "recent_ticks": repository.list_ticks(session, market_id, limit=15, descending=True),
        },
    )


def _series_of(
    session: SessionDep, market_id: int, width: int | None, *, start: datetime, until: datetime
) -> list[Any]:
    """A market's ticks (or candles of ``width``) over the window, oldest first."""
    if width is None:
        return list(
            reversed(
                repository.list_ticks(
                    session, market_id, limit=MAX_POINTS, start=start, end=until, descending=True
                )
            )
        )
    return list(
        reversed(
            repository.page_candles(
                session,
                market_id,
                width_seconds=width,
                limit=MAX_POINTS,
                start=start,
                end=until,
                descending=True,
            )
        )
    )
