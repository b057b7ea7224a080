"""``/``: the overview — what is broken, how fresh the data is, what just happened, paper P&L.

The live part (``/overview/live``) is what the page polls every few seconds; its data is cached
for ``LIVE_TTL_SECONDS`` so many open dashboards cost one set of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from edgewatch.alerts.repository import firing_alerts
from edgewatch.api.deps import SessionDep, SettingsDep
from edgewatch.api.health import Check, Readiness, readiness_of
from edgewatch.clock import utcnow
from edgewatch.dashboard.cache import LIVE_TTL_SECONDS, live_cache
from edgewatch.dashboard.pages.paper import AccountLine, account_lines
from edgewatch.dashboard.routing import DashboardRoute
from edgewatch.dashboard.templating import render
from edgewatch.dashboard.viewer import viewer_of
from edgewatch.jobs.repository import latest_runs
from edgewatch.markets.repository import LinkGap, newest_tick_by_venue, top_gaps
from edgewatch.models import PipelineRun
from edgewatch.models.alert import Alert
from edgewatch.models.quality import QualityFinding
from edgewatch.quality.repository import list_findings
from edgewatch.quality.service import RECENT, recent_counts
from edgewatch.signals.repository import SignalWithMarket, list_signals

router = APIRouter(route_class=DashboardRoute)

SIGNALS_SHOWN = 10
GAPS_SHOWN = 8
ALERTS_SHOWN = 5
PAPER_ACCOUNTS_SHOWN = 10
QUALITY_SHOWN = 5
#: Firing alerts read to say how many more there are beyond those shown.
ALERTS_COUNTED = 100
#: How often the overview polls for its live panels.
POLL_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Freshness:
    venue: str
    newest: datetime
    age_seconds: float
    stale: bool


@dataclass(frozen=True, slots=True)
class Overview:
    readiness: Readiness
    problems: list[Check]
    alerts: list[Alert]
    more_alerts: int
    freshness: list[Freshness]
    stale_after_hours: float
    runs: list[PipelineRun]
    #: Data-quality findings of the last ``quality.service.RECENT``, by (venue, kind).
    quality_counts: dict[tuple[str, str], int]
    quality_newest: list[QualityFinding]
    signals: list[SignalWithMarket]
    gaps: list[LinkGap]


def _overview(request: Request, session: SessionDep, settings: SettingsDep) -> Overview:
    now = utcnow()
    readiness = readiness_of(request)
    alerts = firing_alerts(session, limit=ALERTS_COUNTED)
    limit = settings.data_stale_after_hours * 3600
    freshness = []
    for venue, newest in sorted(newest_tick_by_venue(session).items()):
        seconds = max((now - newest).total_seconds(), 0.0)
        freshness.append(Freshness(venue, newest, seconds, seconds > limit))
    return Overview(
        readiness=readiness,
        problems=[check for check in readiness.checks if check.status != "ok"],
        alerts=alerts[:ALERTS_SHOWN],
        more_alerts=max(len(alerts) - ALERTS_SHOWN, 0),
        freshness=freshness,
        stale_after_hours=settings.data_stale_after_hours,
        runs=latest_runs(session),
        quality_counts=recent_counts(session, now=now),
        quality_newest=list_findings(session, limit=QUALITY_SHOWN, since=now - RECENT),
        signals=list_signals(session, limit=SIGNALS_SHOWN),
        gaps=top_gaps(session, limit=GAPS_SHOWN),
    )


def _cached_overview(request: Request, session: SessionDep, settings: SettingsDep) -> Overview:
    return live_cache(request).get_or_compute(
        "overview", lambda: _overview(request, session, settings), ttl=LIVE_TTL_SECONDS
    )


def _paper(request: Request, session: SessionDep) -> list[AccountLine]:
    """The viewer's own paper accounts (an admin's: every account): cached per user."""
    viewer = viewer_of(request)
    return live_cache(request).get_or_compute(
        ("paper", viewer.user_id, viewer.role),
        lambda: account_lines(session, viewer, limit=PAPER_ACCOUNTS_SHOWN),
        ttl=LIVE_TTL_SECONDS,
    )


@router.get("/", summary="Dashboard: overview (HTML)", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    data = _cached_overview(request, session, settings)
    return render(
        request,
        "overview.html",
        {"data": data, "paper": _paper(request, session), "poll_seconds": POLL_SECONDS},
    )


@router.get(
    "/overview/live",
    summary="Dashboard: overview live panels (HTML fragment)",
    response_class=HTMLResponse,
)
def overview_live(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    data = _cached_overview(request, session, settings)
    return render(request, "overview_live.html", {"data": data, "paper": _paper(request, session)})
