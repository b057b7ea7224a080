"""``GET /``: the dashboard page, rendered on the server from the same repositories as the API."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from edgewatch.api.deps import SessionDep
from edgewatch.api.health import readiness_of
from edgewatch.clock import utcnow
from edgewatch.jobs.repository import latest_runs
from edgewatch.markets.repository import list_markets
from edgewatch.signals.repository import list_signals

MARKETS_SHOWN = 50
SIGNALS_SHOWN = 20

router = APIRouter(tags=["dashboard"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def age(value: datetime | None, now: datetime) -> str:
    """A short human age (``42 s``, ``5 min``, ``3 h``, ``2 d``) or an em dash for never."""
    if value is None:
        return "—"
    seconds = max((now - value).total_seconds(), 0.0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def price(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


templates.env.filters["price"] = price


@router.get("/", summary="Dashboard (HTML)", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep) -> HTMLResponse:
    now = utcnow()
    markets = list_markets(session, limit=MARKETS_SHOWN + 1)
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "now": now,
            "age": lambda value: age(value, now),
            "markets": markets[:MARKETS_SHOWN],
            "more_markets": len(markets) > MARKETS_SHOWN,
            "signals": list_signals(session, limit=SIGNALS_SHOWN),
            "runs": latest_runs(session),
            "readiness": readiness_of(request),
        },
    )
