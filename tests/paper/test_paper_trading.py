"""Hand-computed paper trading, to the cent, through the database service.

The timing is the backtest tests' (tests/backtest/test_backtest_engine.py): the account is stepped
every 10 s, orders leave at the step, arrive 2 s later and pay one cent of slippage beyond the far
side of the quote. Kalshi fees are ceil_to_cent(0.07·C·P·(1−P)) per order; Polymarket's are
C·rate·P·(1−P) rounded to 5 decimals (rate 0.02 here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.audit import service as audit
from edgewatch.db.session import session_scope
from edgewatch.models import AuditEntry
from edgewatch.models.paper import PaperEquity, PaperPosition, PaperSettlement
from edgewatch.paper.policy import Policy

from .support import (
    AS_SIGNALLED,
    account,
    add_market,
    add_signal,
    add_ticks,
    at,
    fills,
    new_account,
    orders,
    resolve,
    step,
)

KALSHI_TICKS = [
    (0, 0.40, 0.42, 500, 500),
    (10, 0.40, 0.42, 500, 500),
    (15, 0.41, 0.43, 500, 500),
    (20, 0.50, 0.52, 500, 500),
    (25, 0.55, 0.57, 500, 500),
    (40, 0.98, 0.99, 500, 500),
]
POLYMARKET_TICKS = [
    (0, 0.58, 0.60, 1000, 1000),
    (15, 0.59, 0.60, 1000, 1000),
    (25, 0.70, 0.72, 1000, 1000),
    (40, 0.70, 0.72, 1000, 1000),
]


def kalshi(session: Session, rows: Sequence[Sequence[float]] | None = None) -> int:
    market = add_market(session)
    add_ticks(session, market, rows or KALSHI_TICKS)
    return market


def polymarket(session: Session) -> int:
    market = add_market(
        session, venue="polymarket", fee_schedule="polymarket", fee_rate=Decimal("0.02")
    )
    add_ticks(session, market, POLYMARKET_TICKS)
    return market


def audited(session: Session, action: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
        or 0
    )


@pytest.mark.both_backends
def test_buy_and_hold_to_a_yes_resolution_on_kalshi(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    # Stepped at 10 s: sent at 10, arrives at 12, meets the 15 s quote at the 20 s step:
    # ask 0.43 + 0.01. Fee ceil(0.07·100·0.44·0.56 = 1.7248) = 1.73. YES pays 100 at 30 s.
    with session_scope(session_factory) as s:
        market = kalshi(s)
        account_id = new_account(s)
        add_signal(s, market, 0, "yes", limit=0.45, size=100)
    assert step(session_factory, account_id, 10).orders == 1
    (pending,) = orders(session, account_id)
    assert (pending.status, pending.quantity) == ("pending", 100)
    assert step(session_factory, account_id, 20).fills == 1
    with session_scope(session_factory) as s:
        resolve(s, market, "yes", 30)
    assert step(session_factory, account_id, 30).settlements == 1

    (fill,) = fills(session, account_id)
    assert (fill.price, fill.fee, fill.quantity, fill.cash_flow) == (
        Decimal("0.44"),
        Decimal("1.73"),
        100,
        Decimal("-45.73"),
    )
    assert orders(session, account_id)[0].status == "filled"
    paper = account(session, account_id)
    assert paper.cash == Decimal("1054.27")
    assert paper.realised_pnl == Decimal("54.27")
    assert paper.fees_paid == Decimal("1.73")
    (settlement,) = session.scalars(select(PaperSettlement))
    assert (settlement.payout, settlement.pnl, settlement.contracts) == (
        Decimal(100),
        Decimal("54.27"),
        100,
    )
    position = session.get_one(PaperPosition, (account_id, market))
    assert (position.contracts, position.realised_pnl) == (0, Decimal("54.27"))
    last = session.scalars(select(PaperEquity).order_by(PaperEquity.ts.desc())).first()
    assert last is not None and last.equity == Decimal("1054.27")
    # Every order, fill and settlement is in the audit chain, and the chain holds.
    assert audited(session, "paper.order.placed") == 1
    assert audited(session, "paper.fill") == 1
    assert audited(session, "paper.settlement") == 1
    assert audit.verify(session).ok


def test_round_trip_with_kalshi_and_polymarket_fees(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    # Kalshi: 100 YES at 0.44 (fee 1.73), then 100 NO at 1 − 0.55 + 0.01 = 0.46 (fee 1.74): the
    # pairs pay $100 at once. P&L 100 − 44 − 46 − 3.47 = 6.53.
    # Polymarket: 200 YES at 0.61 (fee 0.95160), 200 NO at 0.31 (fee 0.85560): P&L 14.1928.
    with session_scope(session_factory) as s:
        k, p = kalshi(s), polymarket(s)
        account_id = new_account(s)
        add_signal(s, k, 0, "yes", limit=0.45, size=100)
        add_signal(s, p, 0, "yes", limit=0.65, size=200)
    step(session_factory, account_id, 10)
    with session_scope(session_factory) as s:
        add_signal(s, k, 20, "no", limit=0.50, size=100)
        add_signal(s, p, 20, "no", limit=0.35, size=200)
    for seconds in (20, 30, 40):
        step(session_factory, account_id, seconds)

    assert [(f.market_id, f.side, f.price, f.fee) for f in fills(session, account_id)] == [
        (k, "yes", Decimal("0.44"), Decimal("1.73")),
        (p, "yes", Decimal("0.61"), Decimal("0.95160")),
        (k, "no", Decimal("0.46"), Decimal("1.74")),
        (p, "no", Decimal("0.31"), Decimal("0.85560")),
    ]
    positions = {r.market_id: r for r in session.scalars(select(PaperPosition))}
    assert positions[k].realised_pnl == Decimal("6.53")
    assert positions[p].realised_pnl == Decimal("14.1928")
    assert all(r.contracts == 0 for r in positions.values())
    paper = account(session, account_id)
    assert paper.realised_pnl == Decimal("20.7228")
    assert paper.cash == Decimal("1020.7228")
    assert paper.fees_paid == Decimal("5.27720")


@pytest.mark.parametrize(
    ("venue", "payout", "pnl"),
    [
        # Kalshi refunds the cost (44.00), not the fee (1.73).
        ("kalshi", Decimal("44.00"), Decimal("-1.73")),
        # Polymarket redeems each of 200 contracts at 0.50: 100 − 122 − 0.9516.
        ("polymarket", Decimal(100), Decimal("-22.95160")),
    ],
)
def test_void_market_is_refunded_as_the_backtest_refunds_it(
    session_factory: sessionmaker[Session],
    session: Session,
    venue: str,
    payout: Decimal,
    pnl: Decimal,
) -> None:
    with session_scope(session_factory) as s:
        market = kalshi(s) if venue == "kalshi" else polymarket(s)
        account_id = new_account(s)
        if venue == "kalshi":
            add_signal(s, market, 0, "yes", limit=0.45, size=100)
        else:
            add_signal(s, market, 0, "yes", limit=0.65, size=200)
    step(session_factory, account_id, 10)
    step(session_factory, account_id, 20)
    with session_scope(session_factory) as s:
        resolve(s, market, "void", 30)
    step(session_factory, account_id, 30)
    (settlement,) = session.scalars(select(PaperSettlement))
    assert (settlement.resolution, settlement.payout, settlement.pnl) == ("void", payout, pnl)
    assert account(session, account_id).realised_pnl == pnl


def test_partial_fill_limited_by_displayed_size(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    # Only 37 contracts are offered at 15 s: 37 × 0.44 = 16.28, fee ceil(0.638176) = 0.64;
    # the rest of the order is cancelled (it is good for one quote).
    rows = [r if r[0] != 15 else (15, 0.41, 0.43, 500, 37) for r in KALSHI_TICKS]
    with session_scope(session_factory) as s:
        market = kalshi(s, rows)
        account_id = new_account(s)
        add_signal(s, market, 0, "yes", limit=0.45, size=100)
    step(session_factory, account_id, 10)
    step(session_factory, account_id, 20)
    with session_scope(session_factory) as s:
        resolve(s, market, "no", 30)
    step(session_factory, account_id, 30)
    (order,) = orders(session, account_id)
    assert (order.status, order.quantity, order.filled_quantity) == ("partially_filled", 100, 37)
    (fill,) = fills(session, account_id)
    assert (fill.quantity, fill.fee) == (37, Decimal("0.64"))
    assert account(session, account_id).realised_pnl == Decimal("-16.92")


def test_kelly_sized_order_fills_the_hand_computed_quantity(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    # Quarter Kelly at confidence 0.9, edge 0.05, limit 0.45 on a $1,000 bankroll:
    # f = 0.25·0.9·0.05/0.55 = 0.0204545…, stake $20.4545…, 20.4545/0.45 = 45.45 → 45 contracts.
    # Fill at 0.44, fee ceil(0.07·45·0.44·0.56 = 0.776160) = 0.78.
    with session_scope(session_factory) as s:
        market = kalshi(s)
        account_id = new_account(s, policy=Policy(min_confidence=0.5, daily_loss_limit=None))
        add_signal(s, market, 0, "yes", limit=0.45, size=1000, edge=0.05, confidence=0.9)
    step(session_factory, account_id, 10)
    step(session_factory, account_id, 20)
    (fill,) = fills(session, account_id)
    assert (fill.quantity, fill.price, fill.fee) == (45, Decimal("0.44"), Decimal("0.78"))


def test_low_confidence_signals_are_declined_without_an_order(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    with session_scope(session_factory) as s:
        market = kalshi(s)
        account_id = new_account(s, policy=Policy(min_confidence=0.95))
        add_signal(s, market, 0, "yes", limit=0.45, size=100, confidence=0.9)
    summary = step(session_factory, account_id, 10)
    assert summary.declined == {"low_confidence": 1}
    assert orders(session, account_id) == []


def test_kill_switch_stops_orders_after_the_daily_loss_limit(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    # 100 YES at 0.44 (fee 1.73) at 15 s; at 25 s the market drops to 0.20/0.22 (mid 0.21):
    # equity 1000 − 45.73 + 21 = 975.27, a loss of 24.73 against the day's start (1000): past
    # the $20 limit, so the switch turns on at the 30 s step and the new signal is declined.
    rows = [r if r[0] != 25 else (25, 0.20, 0.22, 500, 500) for r in KALSHI_TICKS[:5]]
    with session_scope(session_factory) as s:
        market = kalshi(s, rows)
        account_id = new_account(s, policy=replace(AS_SIGNALLED, daily_loss_limit=Decimal(20)))
        add_signal(s, market, 0, "yes", limit=0.45, size=100)
    step(session_factory, account_id, 10)
    assert step(session_factory, account_id, 20).fills == 1
    with session_scope(session_factory) as s:
        add_signal(s, market, 28, "yes", limit=0.30, size=10)
    summary = step(session_factory, account_id, 30)
    assert summary.tripped
    assert summary.declined == {"kill_switch": 1}
    assert len(orders(session, account_id)) == 1
    paper = account(session, account_id)
    assert paper.kill_switch
    assert paper.kill_switch_reason is not None
    assert "daily loss 24.73 reached the limit 20.00" in paper.kill_switch_reason
    assert audited(session, "paper.kill_switch.on") == 1


def test_an_account_trades_its_strategies_signals_once_and_a_repeated_step_changes_nothing(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    with session_scope(session_factory) as s:
        market = kalshi(s)
        add_signal(s, market, 0, "yes", limit=0.45, size=5, strategy="before_the_account")
        account_id = new_account(s, strategies=("wanted",))
        add_signal(s, market, 0, "yes", limit=0.45, size=10, strategy="other")
        add_signal(s, market, 1, "yes", limit=0.45, size=20, strategy="wanted")
    assert step(session_factory, account_id, 10).orders == 1
    assert step(session_factory, account_id, 10).orders == 0
    assert step(session_factory, account_id, 20).fills == 1
    again = step(session_factory, account_id, 20)
    assert (again.orders, again.fills, again.settlements) == (0, 0, 0)
    (order,) = orders(session, account_id)
    assert (order.quantity, order.status) == (20, "filled")
    assert len(fills(session, account_id)) == 1
    points = session.scalars(select(PaperEquity).where(PaperEquity.account_id == account_id))
    assert [p.ts for p in points] == [at(10), at(20)]
