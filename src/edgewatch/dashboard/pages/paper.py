"""``/paper``: paper-trading accounts — balances, positions, orders, equity, the kill switch.

Everything goes through ``paper.service`` with the viewer's identity, as the paper API does: a
user sees their own accounts, an admin every account, an anonymous reader none. The kill switch
is ``service.set_kill_switch`` (audited; turning it on cancels pending orders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from edgewatch.api.deps import SessionDep
from edgewatch.api.params import MAX_ID
from edgewatch.clock import utcnow
from edgewatch.dashboard.charts import equity_chart
from edgewatch.dashboard.routing import DashboardRoute
from edgewatch.dashboard.templating import render
from edgewatch.dashboard.viewer import Viewer, viewer_of
from edgewatch.errors import InvalidInput
from edgewatch.markets.repository import get_market
from edgewatch.models.paper import PaperAccount
from edgewatch.paper import repository, service
from edgewatch.paper.engine import Valuation

router = APIRouter(route_class=DashboardRoute)

ACCOUNTS_SHOWN = 50
ROWS_SHOWN = 50
#: The equity chart covers this much recent history, at most ``MAX_EQUITY_POINTS`` snapshots.
EQUITY_WINDOW = timedelta(hours=24)
MAX_EQUITY_POINTS = 2_000
AccountId = Annotated[int, Path(ge=1, le=MAX_ID)]


def paper_viewer(viewer: Viewer) -> service.Viewer:
    return service.Viewer(user_id=viewer.user_id, admin=viewer.role == "admin", actor=viewer.actor)


@dataclass(frozen=True, slots=True)
class AccountLine:
    account: PaperAccount
    valuation: Valuation

    @property
    def pnl(self) -> Decimal:
        return self.valuation.equity - self.account.starting_balance

    @property
    def pnl_today(self) -> Decimal:
        """Equity now against the day's baseline (the start of the account's current day)."""
        baseline = self.account.day_start_equity or self.account.starting_balance
        return self.valuation.equity - baseline


def account_lines(session: Session, viewer: Viewer, *, limit: int) -> list[AccountLine]:
    """The viewer's accounts (every account for an admin), each marked at the last mids."""
    now = utcnow()
    return [
        AccountLine(account, service.valuation(session, account, now=now))
        for account in service.list_accounts(session, viewer=paper_viewer(viewer), limit=limit)
    ]


@router.get("/paper", summary="Dashboard: paper accounts (HTML)", response_class=HTMLResponse)
def accounts(request: Request, session: SessionDep) -> Response:
    viewer = viewer_of(request)
    return render(
        request,
        "paper.html",
        {"lines": account_lines(session, viewer, limit=ACCOUNTS_SHOWN), "limit": ACCOUNTS_SHOWN},
    )


@router.get(
    "/paper/{account_id}",
    summary="Dashboard: one paper account (HTML)",
    response_class=HTMLResponse,
)
def account(request: Request, session: SessionDep, account_id: AccountId) -> Response:
    viewer = viewer_of(request)
    row = service.get_account(session, account_id, viewer=paper_viewer(viewer))
    now = utcnow()
    line = AccountLine(row, service.valuation(session, row, now=now))
    positions = repository.list_positions(
        session, row.id, include_closed=False, limit=ROWS_SHOWN, after_market=None
    )
    titles = {}
    for position in positions:
        quote = get_market(session, position.market_id)
        titles[position.market_id] = quote.market.title if quote else f"market {position.market_id}"
    equity = repository.list_equity(
        session, row.id, limit=MAX_EQUITY_POINTS, after=now - EQUITY_WINDOW
    )
    curve, drawdown = equity_chart(equity)
    return render(
        request,
        "paper_account.html",
        {
            "line": line,
            "positions": positions,
            "titles": titles,
            "orders": repository.list_orders(
                session, row.id, status=None, limit=ROWS_SHOWN, after_id=None
            ),
            "fills": repository.list_fills(session, row.id, limit=ROWS_SHOWN, after_id=None),
            "equity": curve,
            "drawdown": drawdown,
            "may_trade": viewer.may("paper:trade"),
        },
    )


@router.post(
    "/paper/{account_id}/kill-switch",
    summary="Dashboard: turn a paper account's kill switch on or off",
    response_class=HTMLResponse,
)
def kill_switch(
    request: Request,
    session: SessionDep,
    account_id: AccountId,
    enabled: Annotated[str, Form(max_length=8)],
) -> Response:
    viewer = viewer_of(request)
    viewer.require("paper:trade")
    if enabled not in ("on", "off"):
        raise InvalidInput("enabled: 'on' or 'off'")
    service.set_kill_switch(
        session, account_id, viewer=paper_viewer(viewer), enabled=enabled == "on", now=utcnow()
    )
    return RedirectResponse(f"/paper/{account_id}", status_code=303)
