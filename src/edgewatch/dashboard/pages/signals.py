"""``/signals``: the live feed with filters, one signal with the features it saw, calibration.

The feed's first page polls ``/signals/feed`` every few seconds (cached briefly, like the
overview); older pages are still. Calibration scores at most ``MAX_SCORED`` of each strategy's
newest resolved signals (``scoring.scores`` + ``scoring.summarise``, as the signals report does).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import MAX_ID
from edgewatch.dashboard import forms
from edgewatch.dashboard.cache import LIVE_TTL_SECONDS, live_cache
from edgewatch.dashboard.charts import calibration_chart
from edgewatch.dashboard.routing import DashboardRoute, url_with
from edgewatch.dashboard.templating import render
from edgewatch.errors import NotFound
from edgewatch.markets.repository import get_market, venue_names
from edgewatch.signals import repository, scoring
from edgewatch.signals.repository import SignalWithMarket
from edgewatch.strategies.model_edge import ModelEdge
from edgewatch.strategies.registry import strategy_names

router = APIRouter(route_class=DashboardRoute)

PAGE_SIZE = 50
POLL_SECONDS = 5
#: Newest resolved signals scored per strategy on the calibration page.
MAX_SCORED = 5_000
CALIBRATION_BINS = 10
Text = Annotated[str | None, Query(max_length=300)]


def known_strategies() -> list[str]:
    return sorted({*strategy_names(), ModelEdge.name})


def _filters(
    session: SessionDep,
    strategy: str | None,
    venue: str | None,
    min_confidence: str | None,
    min_edge: str | None,
) -> dict[str, Any]:
    venues = venue_names(session)
    return {
        "strategy": forms.choice(strategy, name="strategy", allowed=known_strategies()),
        "venue": forms.choice(venue, name="venue", allowed=venues) if venues else None,
        "min_confidence": forms.decimal_number(
            min_confidence, name="min_confidence", minimum=0, maximum=1
        ),
        "min_edge": forms.decimal_number(min_edge, name="min_edge"),
    }


def _page(
    session: SessionDep, filters: dict[str, Any], cursor: str | None
) -> tuple[list[SignalWithMarket], bool]:
    return split_page(
        repository.list_signals(
            session, limit=PAGE_SIZE + 1, before_id=decode_id_cursor(cursor), **filters
        ),
        PAGE_SIZE,
    )


@router.get("/signals", summary="Dashboard: signals (HTML)", response_class=HTMLResponse)
def signals(
    request: Request,
    session: SessionDep,
    strategy: Text = None,
    venue: Text = None,
    min_confidence: Text = None,
    min_edge: Text = None,
    cursor: Text = None,
) -> Response:
    filters = _filters(session, strategy, venue, min_confidence, min_edge)
    cursor = forms.text(cursor, name="cursor")
    rows, has_more = _page(session, filters, cursor)
    return render(
        request,
        "signals.html",
        {
            "rows": rows,
            "filters": filters,
            "raw": {"min_confidence": min_confidence or "", "min_edge": min_edge or ""},
            "filtered": any(value is not None for value in filters.values()),
            "strategies": known_strategies(),
            "venues": venue_names(session),
            "live": cursor is None,
            "poll_seconds": POLL_SECONDS,
            "feed_url": url_with(request, cursor=None).replace("/signals", "/signals/feed", 1),
            "next_url": url_with(request, cursor=encode_cursor(rows[-1].signal.id))
            if has_more
            else None,
            "first_url": url_with(request, cursor=None) if cursor else None,
        },
    )


@router.get(
    "/signals/feed",
    summary="Dashboard: newest signals (HTML fragment)",
    response_class=HTMLResponse,
)
def feed(
    request: Request,
    session: SessionDep,
    strategy: Text = None,
    venue: Text = None,
    min_confidence: Text = None,
    min_edge: Text = None,
) -> Response:
    filters = _filters(session, strategy, venue, min_confidence, min_edge)
    key = ("signals", tuple(sorted(filters.items())))
    rows, _ = live_cache(request).get_or_compute(
        key, lambda: _page(session, filters, None), ttl=LIVE_TTL_SECONDS
    )
    return render(request, "signals_rows.html", {"rows": rows, "filtered": any(filters.values())})


@router.get(
    "/signals/calibration",
    summary="Dashboard: strategy calibration and scores (HTML)",
    response_class=HTMLResponse,
)
def calibration(request: Request, session: SessionDep, strategy: Text = None) -> Response:
    chosen = forms.choice(strategy, name="strategy", allowed=known_strategies())
    reports = []
    for name in known_strategies():
        rows = scoring.scores(session, strategy=name, limit=MAX_SCORED)
        if rows:
            reports.append(
                (scoring.summarise(rows, strategy=name, bins=CALIBRATION_BINS), rows[:20])
            )
    selected = next((item for item in reports if item[0].strategy == chosen), None)
    if selected is None and chosen is None and reports:
        selected = reports[0]
    buckets: list[dict[str, Any]] = selected[0].calibration.to_dicts() if selected else []
    return render(
        request,
        "calibration.html",
        {
            "reports": [report for report, _ in reports],
            "selected": selected[0] if selected else None,
            "recent": selected[1] if selected else [],
            "buckets": buckets,
            "calibration_plot": calibration_chart(buckets),
            "chosen": chosen,
            "max_scored": MAX_SCORED,
            "finite": scoring.finite,
        },
    )


@router.get(
    "/signals/{signal_id}", summary="Dashboard: one signal (HTML)", response_class=HTMLResponse
)
def signal(
    request: Request, session: SessionDep, signal_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Response:
    row = repository.get_signal(session, signal_id)
    if row is None:
        raise NotFound(f"Signal {signal_id} does not exist.")
    paired = (
        get_market(session, row.signal.paired_market_id)
        if row.signal.paired_market_id is not None
        else None
    )
    score = None
    if row.market.status == "resolved" and row.market.resolution in scoring.RESOLVED:
        paired_market = paired.market if paired else None
        if paired_market is None or (
            paired_market.status == "resolved" and paired_market.resolution in scoring.RESOLVED
        ):
            score = scoring.score_signal(row.signal, row.market, paired_market)
    return render(
        request,
        "signal.html",
        {"row": row, "paired": paired, "score": score, "inputs": sorted(row.signal.inputs.items())},
    )
