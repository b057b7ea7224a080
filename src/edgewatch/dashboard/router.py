"""Every dashboard page, mounted by ``api.app.create_app`` as one router.

Pages are server-rendered (Jinja2) from the same repositories and services as the API; htmx
refreshes the live panels and uPlot draws the charts, both vendored under ``static/vendor``.
"""

from __future__ import annotations

from fastapi import APIRouter

from edgewatch.dashboard.pages import (
    account,
    admin,
    backtests,
    guide,
    links,
    markets,
    overview,
    paper,
    signals,
)

router = APIRouter(tags=["dashboard"], include_in_schema=False)
for page in (overview, markets, links, signals, backtests, paper, admin, account, guide):
    router.include_router(page.router)
