"""The paper ledger: what a step of the paper engine did, written to the database.

``service`` loads an account into the pure engine and runs it; this module writes back what
changed — new and closed orders, fills, settlements, positions, account totals, an equity
snapshot — and an audit entry for every order, fill, settlement and kill-switch change, all in
the caller's transaction (it flushes, never commits).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from edgewatch.audit import service as audit
from edgewatch.backtest.fills import ZERO, Fill, FillConfig
from edgewatch.backtest.portfolio import Portfolio, Settlement, Trade
from edgewatch.models.paper import (
    PaperAccount,
    PaperEquity,
    PaperFill,
    PaperOrder,
    PaperPosition,
    PaperSettlement,
)
from edgewatch.observability.metrics import (
    PAPER_EQUITY,
    PAPER_KILL_SWITCH_TRIPS,
    PAPER_ORDERS,
    PAPER_SIGNALS_DECLINED,
)
from edgewatch.paper import repository
from edgewatch.paper.engine import PaperEngine, StepReport, Ticket, Valuation


def save_step(
    session: Session,
    account: PaperAccount,
    engine: PaperEngine,
    orders: dict[int, PaperOrder],
    report: StepReport,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Write everything the engine changed, with its audit entries, in the caller's transaction.

    ``orders`` are the pending order rows the engine was loaded with, by id.
    """
    portfolio = engine.portfolio
    # Orders first: fills reference them.
    for ticket in report.created:
        _insert_order(session, account, ticket, engine.executor.fill_config, actor=actor)
    for ticket in report.changed:
        assert ticket.order_id is not None
        _close_order(session, orders[ticket.order_id], ticket, actor=actor)
    for ticket in [*report.created, *report.changed]:
        if ticket.fill is not None:
            _insert_fill(session, account, ticket, ticket.fill, actor=actor)
    trade_pnl: dict[int, Decimal] = {}
    for trade in report.trades:
        trade_pnl[trade.market_id] = trade_pnl.get(trade.market_id, ZERO) + trade.pnl
    for settlement in report.settlements:
        _insert_settlement(session, account, settlement, report.trades, actor=actor)
    _save_positions(session, account, portfolio, trade_pnl, now=now)
    account.cash = portfolio.cash
    account.fees_paid = portfolio.fees_paid
    account.turnover = portfolio.turnover
    account.realised_pnl += sum(trade_pnl.values(), ZERO)
    switch = engine.kill_switch
    account.day_start, account.day_start_equity = switch.day_start, switch.day_start_equity
    if report.tripped is not None:
        set_switch(session, account, enabled=True, reason=report.tripped, actor=actor, now=now)
        PAPER_KILL_SWITCH_TRIPS.inc()
    for reason, count in report.declined.items():
        PAPER_SIGNALS_DECLINED.labels(reason=reason).inc(count)
    if report.valuation is not None:
        _snapshot(session, account, report.valuation)
    session.flush()


def _insert_order(
    session: Session, account: PaperAccount, ticket: Ticket, fills: FillConfig, *, actor: str
) -> None:
    order = ticket.order
    row = PaperOrder(
        account_id=account.id,
        market_id=order.market_id,
        signal_id=ticket.signal_id,
        source=ticket.source,
        side=order.side,
        action=order.action,
        quantity=order.quantity,
        limit_price=order.limit_price,
        submitted_at=order.submitted_at,
        arrives_at=order.submitted_at + fills.latency,
        expires_at=order.expires_at,
        status=ticket.status,
        reason=ticket.reason,
        filled_quantity=ticket.fill.quantity if ticket.fill else 0,
        closed_at=ticket.closed_at,
        reference=order.reference[:200],
    )
    _add_audited(
        session,
        row,
        actor=actor,
        action="paper.order.placed",
        subject_type="paper_order",
        details={
            "account_id": account.id,
            "source": row.source,
            "signal_id": row.signal_id,
            "market_id": row.market_id,
            "side": row.side,
            "action": row.action,
            "quantity": row.quantity,
            "limit_price": str(row.limit_price),
            "submitted_at": row.submitted_at.isoformat(),
            "status": row.status,
            "reason": row.reason,
        },
    )
    ticket.order_id = row.id
    PAPER_ORDERS.labels(source=row.source, status="placed").inc()
    if row.status != "pending":
        audit_close(session, row, actor=actor)


def _add_audited(
    session: Session,
    row: PaperOrder | PaperFill | PaperSettlement,
    *,
    actor: str,
    action: str,
    subject_type: str,
    details: dict[str, Any],
) -> None:
    """Insert ``row`` and its audit entry, which names the row by the id the insert gave it."""
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=row.id,
        details=details,
    )


def _close_order(session: Session, row: PaperOrder, ticket: Ticket, *, actor: str) -> None:
    row.status = ticket.status
    row.reason = ticket.reason
    row.filled_quantity = ticket.fill.quantity if ticket.fill else 0
    row.closed_at = ticket.closed_at
    audit_close(session, row, actor=actor)


def audit_close(session: Session, row: PaperOrder, *, actor: str) -> None:
    PAPER_ORDERS.labels(source=row.source, status=row.status).inc()
    if row.status in ("filled", "partially_filled"):
        return  # the fill's own audit entry records it
    audit.append(
        session,
        actor=actor,
        action=f"paper.order.{row.status}",
        subject_type="paper_order",
        subject_id=row.id,
        details={"account_id": row.account_id, "reason": row.reason},
    )


def _insert_fill(
    session: Session, account: PaperAccount, ticket: Ticket, fill: Fill, *, actor: str
) -> None:
    assert ticket.order_id is not None
    row = PaperFill(
        account_id=account.id,
        order_id=ticket.order_id,
        market_id=fill.market_id,
        side=fill.side,
        action=fill.action,
        quantity=fill.quantity,
        price=fill.price,
        quote_price=fill.quote_price,
        fee=fill.fee,
        cash_flow=fill.cash_flow,
        filled_at=fill.filled_at,
    )
    _add_audited(
        session,
        row,
        actor=actor,
        action="paper.fill",
        subject_type="paper_fill",
        details={
            "account_id": account.id,
            "order_id": ticket.order_id,
            "market_id": fill.market_id,
            "side": fill.side,
            "action": fill.action,
            "quantity": fill.quantity,
            "requested": fill.requested,
            "price": str(fill.price),
            "quote_price": str(fill.quote_price),
            "fee": str(fill.fee),
            "cash_flow": str(fill.cash_flow),
            "filled_at": fill.filled_at.isoformat(),
        },
    )


def _insert_settlement(
    session: Session,
    account: PaperAccount,
    settlement: Settlement,
    trades: Sequence[Trade],
    *,
    actor: str,
) -> None:
    assert settlement.side is not None
    pnl = next(
        (
            t.pnl
            for t in trades
            if t.market_id == settlement.market_id
            and t.how == "settled"
            and t.closed_at == settlement.settled_at
        ),
        ZERO,
    )
    row = PaperSettlement(
        account_id=account.id,
        market_id=settlement.market_id,
        resolution=settlement.resolution,
        side=settlement.side,
        contracts=settlement.contracts,
        payout=settlement.payout,
        pnl=pnl,
        settled_at=settlement.settled_at,
    )
    _add_audited(
        session,
        row,
        actor=actor,
        action="paper.settlement",
        subject_type="paper_settlement",
        details={
            "account_id": account.id,
            "market_id": row.market_id,
            "resolution": row.resolution,
            "side": row.side,
            "contracts": row.contracts,
            "payout": str(row.payout),
            "pnl": str(pnl),
            "settled_at": row.settled_at.isoformat(),
        },
    )


def _save_positions(
    session: Session,
    account: PaperAccount,
    portfolio: Portfolio,
    trade_pnl: dict[int, Decimal],
    *,
    now: datetime,
) -> None:
    rows = repository.positions_by_market(session, account.id)
    for market_id, pos in portfolio.positions.items():
        row = rows.get(market_id)
        if row is None:
            row = PaperPosition(account_id=account.id, market_id=market_id, realised_pnl=ZERO)
            session.add(row)
        changed = (
            row.contracts != pos.contracts
            or row.cost != pos.cost
            or row.trade_cash != pos.trade_cash
            or market_id in trade_pnl
        )
        if not changed:
            continue
        row.contracts = pos.contracts
        row.cost = pos.cost
        row.trade_cash = pos.trade_cash
        row.trade_fees = pos.trade_fees
        row.opened_at = pos.opened_at
        row.realised_pnl = (row.realised_pnl or ZERO) + trade_pnl.get(market_id, ZERO)
        row.updated_at = now


def _snapshot(session: Session, account: PaperAccount, valuation: Valuation) -> None:
    row = session.get(PaperEquity, (account.id, valuation.at))
    if row is None:
        row = PaperEquity(account_id=account.id, ts=valuation.at)
        session.add(row)
    row.equity = valuation.equity
    row.cash = valuation.cash
    row.positions_value = valuation.positions_value
    row.realised_pnl = account.realised_pnl
    row.unrealised_pnl = sum(valuation.unrealised.values(), ZERO)
    PAPER_EQUITY.labels(account=str(account.id)).set(float(valuation.equity))


def set_switch(
    session: Session,
    account: PaperAccount,
    *,
    enabled: bool,
    reason: str | None,
    actor: str,
    now: datetime,
) -> None:
    account.kill_switch = enabled
    account.kill_switch_reason = reason[:300] if reason else None
    account.kill_switch_at = now
    audit.append(
        session,
        actor=actor,
        action="paper.kill_switch." + ("on" if enabled else "off"),
        subject_type="paper_account",
        subject_id=account.id,
        details={"reason": reason, "at": now.isoformat()},
    )
