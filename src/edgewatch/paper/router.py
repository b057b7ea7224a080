"""``/api/v1/paper``: paper accounts, their positions, orders, fills, settlements and equity.

Reads are paginated with opaque cursors and bounded ``limit``s. Writes (a new account, a manual
order, the kill switch) change the account in the request's transaction, audited. A refused order
is a problem document naming why: 404 unknown market, 409 ``insufficient-cash``, ``no-quote``,
``kill-switch-on``, ``market-not-tradable``, ``position-limit``, ``nothing-to-sell``, 422
``fee-unknown`` or a validation error. Everyone sees only their own accounts (admins and the
system see all); another user's account is a 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from edgewatch.accounts.principal import PrincipalDep
from edgewatch.api import API_V1_PREFIX
from edgewatch.api.deps import SessionDep, SettingsDep
from edgewatch.api.pagination import (
    CursorParam,
    Page,
    decode_id_cursor,
    decode_time_cursor,
    encode_cursor,
    split_page,
)
from edgewatch.api.params import MAX_ID
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.clock import utcnow
from edgewatch.paper import repository, service
from edgewatch.paper.schemas import (
    AccountCreate,
    AccountOut,
    EquityPointOut,
    FillOut,
    KillSwitchIn,
    OrderCreate,
    OrderOut,
    OrderStatus,
    PositionOut,
    SettlementOut,
)
from edgewatch.paper.service import Viewer

router = APIRouter(route_class=ApiRoute, prefix=f"{API_V1_PREFIX}/paper", tags=["paper trading"])

AccountId = Annotated[int, Path(ge=1, le=MAX_ID, description="Paper account id.")]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]


def current_viewer(principal: PrincipalDep) -> Viewer:
    """Who is asking: the route's scope was checked by the access table; ownership is ours."""
    return Viewer(user_id=principal.user_id, admin=principal.role == "admin", actor=principal.actor)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def _account_out(session: SessionDep, account_id: int, viewer: Viewer) -> AccountOut:
    account = service.get_account(session, account_id, viewer=viewer)
    return AccountOut.from_account(account, service.valuation(session, account, now=utcnow()))


@router.get("/accounts", summary="Paper accounts, in id order", responses=problem_responses(422))
def list_accounts(
    session: SessionDep, viewer: ViewerDep, limit: Limit = 50, cursor: CursorParam = None
) -> Page[AccountOut]:
    rows, has_more = split_page(
        service.list_accounts(
            session, viewer=viewer, limit=limit + 1, after_id=decode_id_cursor(cursor)
        ),
        limit,
    )
    now = utcnow()
    return Page(
        items=[
            AccountOut.from_account(row, service.valuation(session, row, now=now)) for row in rows
        ],
        next_cursor=encode_cursor(rows[-1].id) if has_more else None,
    )


@router.post(
    "/accounts",
    status_code=201,
    summary="Open a paper account",
    responses=problem_responses(422),
)
def create_account(body: AccountCreate, session: SessionDep, viewer: ViewerDep) -> AccountOut:
    """A new account holding its starting balance in cash, owned by the caller."""
    account = service.create_account(
        session, body.to_settings(), owner_id=viewer.user_id, actor=viewer.actor, now=utcnow()
    )
    return _account_out(session, account.id, viewer)


@router.get(
    "/accounts/{account_id}",
    summary="One paper account, marked to the last prices",
    responses=problem_responses(404, 422),
)
def get_account(account_id: AccountId, session: SessionDep, viewer: ViewerDep) -> AccountOut:
    return _account_out(session, account_id, viewer)


@router.get(
    "/accounts/{account_id}/positions",
    summary="An account's positions, by market",
    responses=problem_responses(404, 422),
)
def list_positions(
    account_id: AccountId,
    session: SessionDep,
    viewer: ViewerDep,
    include_closed: Annotated[
        bool, Query(description="Also flat markets (for their realised P&L).")
    ] = False,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[PositionOut]:
    service.get_account(session, account_id, viewer=viewer)
    rows, has_more = split_page(
        repository.list_positions(
            session,
            account_id,
            include_closed=include_closed,
            limit=limit + 1,
            after_market=decode_id_cursor(cursor),
        ),
        limit,
    )
    mids = repository.StoredQuotes(session).last_mids(
        [r.market_id for r in rows if r.contracts], at=utcnow()
    )
    return Page(
        items=[PositionOut.from_row(row, mids.get(row.market_id)) for row in rows],
        next_cursor=encode_cursor(rows[-1].market_id) if has_more else None,
    )


@router.get(
    "/accounts/{account_id}/orders",
    summary="An account's orders, oldest first",
    responses=problem_responses(404, 422),
)
def list_orders(
    account_id: AccountId,
    session: SessionDep,
    viewer: ViewerDep,
    status: Annotated[OrderStatus | None, Query(description="Only orders in this state.")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[OrderOut]:
    service.get_account(session, account_id, viewer=viewer)
    rows, has_more = split_page(
        repository.list_orders(
            session, account_id, status=status, limit=limit + 1, after_id=decode_id_cursor(cursor)
        ),
        limit,
    )
    return Page(
        items=[OrderOut.from_row(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].id) if has_more else None,
    )


@router.post(
    "/accounts/{account_id}/orders",
    status_code=201,
    summary="Place a manual order",
    responses=problem_responses(404, 409, 422),
)
def place_order(
    account_id: AccountId,
    body: OrderCreate,
    session: SessionDep,
    viewer: ViewerDep,
    settings: SettingsDep,
) -> OrderOut:
    """Checked now against the market's latest quote; fills like every paper order on the first
    quote at or after its arrival (submission plus the account's latency), with the backtest's
    fill model and the venue's fees. ``status`` is ``pending`` until then."""
    row = service.place_order(
        session,
        account_id,
        viewer=viewer,
        market_id=body.market_id,
        side=body.side,
        action=body.action,
        quantity=body.quantity,
        limit_price=body.limit_price,
        now=utcnow(),
        max_quote_age=timedelta(seconds=settings.paper_max_quote_age_seconds),
        ttl=timedelta(seconds=settings.paper_order_ttl_seconds),
    )
    return OrderOut.from_row(row)


@router.get(
    "/accounts/{account_id}/fills",
    summary="An account's fills, oldest first",
    responses=problem_responses(404, 422),
)
def list_fills(
    account_id: AccountId,
    session: SessionDep,
    viewer: ViewerDep,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[FillOut]:
    service.get_account(session, account_id, viewer=viewer)
    rows, has_more = split_page(
        repository.list_fills(
            session, account_id, limit=limit + 1, after_id=decode_id_cursor(cursor)
        ),
        limit,
    )
    return Page(
        items=[FillOut.from_row(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].id) if has_more else None,
    )


@router.get(
    "/accounts/{account_id}/settlements",
    summary="An account's settlements, oldest first",
    responses=problem_responses(404, 422),
)
def list_settlements(
    account_id: AccountId,
    session: SessionDep,
    viewer: ViewerDep,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> Page[SettlementOut]:
    service.get_account(session, account_id, viewer=viewer)
    rows, has_more = split_page(
        repository.list_settlements(
            session, account_id, limit=limit + 1, after_id=decode_id_cursor(cursor)
        ),
        limit,
    )
    return Page(
        items=[SettlementOut.from_row(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].id) if has_more else None,
    )


@router.get(
    "/accounts/{account_id}/equity",
    summary="An account's equity snapshots (one per pipeline step), oldest first",
    responses=problem_responses(404, 422),
)
def list_equity(
    account_id: AccountId,
    session: SessionDep,
    viewer: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=5_000, description="Points per page.")] = 1_000,
    cursor: CursorParam = None,
) -> Page[EquityPointOut]:
    service.get_account(session, account_id, viewer=viewer)
    rows, has_more = split_page(
        repository.list_equity(
            session, account_id, limit=limit + 1, after=decode_time_cursor(cursor)
        ),
        limit,
    )
    return Page(
        items=[EquityPointOut.from_row(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].ts) if has_more else None,
    )


@router.post(
    "/accounts/{account_id}/kill-switch",
    summary="Turn an account's kill switch on or off",
    responses=problem_responses(404, 422),
)
def set_kill_switch(
    account_id: AccountId, body: KillSwitchIn, session: SessionDep, viewer: ViewerDep
) -> AccountOut:
    """On: pending orders are cancelled and no order is placed until it is turned off.
    Off: trading resumes; the daily loss is measured afresh from the next step."""
    service.set_kill_switch(session, account_id, viewer=viewer, enabled=body.enabled, now=utcnow())
    return _account_out(session, account_id, viewer)
