"""``/guide``: how to read each page and metric, and what Edgewatch does not promise.

Also ``/favicon.ico``, which browsers ask for on every page without an icon link (the sign-in
page, the API docs): answered with the dashboard's icon instead of a 404 in the console.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.responses import Response

from edgewatch.dashboard.routing import DashboardRoute
from edgewatch.dashboard.templating import STATIC_DIR, render

router = APIRouter(route_class=DashboardRoute)


@router.get("/guide", summary="Dashboard: guide (HTML)", response_class=HTMLResponse)
def guide(request: Request) -> Response:
    return render(request, "guide.html")


@router.get("/favicon.ico", summary="Dashboard: icon", response_class=FileResponse)
def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
