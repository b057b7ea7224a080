"""Builders for hand-computed paper-trading scenarios: real rows in a real database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.db.session import session_scope
from edgewatch.models import Market, OddsTick, Signal
from edgewatch.models.paper import PaperAccount, PaperFill, PaperOrder
from edgewatch.paper import service
from edgewatch.paper.policy import Policy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_ids = count(1)

#: Trade each signal's own size, with caps that never bind: the backtest engine's sizing.
AS_SIGNALLED = Policy(
    min_confidence=0.0,
    sizing="signal",
    max_market_exposure=Decimal(10**9),
    max_total_exposure=Decimal(10**9),
    daily_loss_limit=None,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def add_market(
    session: Session,
    *,
    venue: str = "kalshi",
    fee_schedule: str | None = "kalshi",
    fee_rate: Decimal | None = None,
) -> int:
    market = Market(
        venue=venue,
        venue_market_id=f"{venue}-{next(_ids)}",
        title="Will it happen?",
        status="open",
        fee_schedule=fee_schedule,
        fee_rate=fee_rate,
    )
    session.add(market)
    session.flush()
    return market.id


def add_ticks(session: Session, market_id: int, rows: Sequence[Sequence[float]]) -> None:
    """Rows of (seconds after T0, bid, ask, bid size, ask size)."""
    for seconds, bid, ask, bid_size, ask_size in rows:
        session.add(
            OddsTick(
                market_id=market_id,
                tick_ts=at(seconds),
                bid=bid,
                ask=ask,
                last=(bid + ask) / 2,
                volume=0.0,
                bid_size=bid_size,
                ask_size=ask_size,
            )
        )
    session.flush()


def add_signal(
    session: Session,
    market_id: int,
    seconds: float,
    side: str,
    *,
    limit: float,
    size: float,
    edge: float = 0.05,
    confidence: float = 0.9,
    ttl: float = 3600,
    strategy: str = "scripted",
) -> int:
    row = Signal(
        signal_ts=at(seconds),
        strategy=strategy,
        strategy_version="1",
        market_id=market_id,
        side=side,
        limit_price=limit,
        size_hint=size,
        edge=edge,
        confidence=confidence,
        expires_at=at(seconds + ttl),
        inputs={},
        dedupe_key=f"test:{market_id}:{seconds}:{side}:{next(_ids)}",
    )
    session.add(row)
    session.flush()
    return row.id


def resolve(session: Session, market_id: int, resolution: str, seconds: float) -> None:
    market = session.get_one(Market, market_id)
    market.status = "void" if resolution == "void" else "resolved"
    market.resolution = resolution
    market.resolved_at = at(seconds)
    session.flush()


def new_account(
    session: Session,
    *,
    balance: Decimal = Decimal(1000),
    policy: Policy = AS_SIGNALLED,
    owner_id: int | None = None,
    strategies: tuple[str, ...] | None = None,
) -> int:
    """$1,000, one-cent slippage, two-second latency, the backtest's sizing unless told."""
    settings = service.AccountSettings(
        name="test",
        strategies=strategies,
        starting_balance=balance,
        policy=policy,
        max_position=1000,
        slippage=Decimal("0.01"),
        latency=timedelta(seconds=2),
    )
    account = service.create_account(session, settings, owner_id=owner_id, actor="test", now=T0)
    return account.id


def step(factory: sessionmaker[Session], account_id: int, seconds: float) -> service.StepSummary:
    """Step the account to ``T0 + seconds`` in a transaction of its own, as the pipeline does."""
    with session_scope(factory) as session:
        return service.step_account(session, account_id, now=at(seconds))


def fills(session: Session, account_id: int) -> list[PaperFill]:
    session.expire_all()
    return list(
        session.scalars(
            select(PaperFill).where(PaperFill.account_id == account_id).order_by(PaperFill.id)
        )
    )


def orders(session: Session, account_id: int) -> list[PaperOrder]:
    session.expire_all()
    return list(
        session.scalars(
            select(PaperOrder).where(PaperOrder.account_id == account_id).order_by(PaperOrder.id)
        )
    )


def account(session: Session, account_id: int) -> PaperAccount:
    session.expire_all()
    return session.get_one(PaperAccount, account_id)
