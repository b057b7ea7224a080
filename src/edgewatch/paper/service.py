"""Paper accounts in the database: create them, place orders, step them forward, read them.

The pure ``engine.PaperEngine`` does the trading; this module is its edge. To change an account
it locks the account row, restores the portfolio from ``paper_positions`` and the account totals,
runs the engine, and has ``ledger`` write back in the same transaction: positions, totals, new and
updated orders, fills, settlements, an equity snapshot, and an audit entry for every order, fill,
settlement and kill-switch change. Services flush and never commit; the caller (API request, CLI
command, pipeline step) owns the transaction.

Who may see an account is decided here too (``Viewer``): a user sees their own accounts, an admin
and the system (CLI, pipeline) see all. Someone else's account is reported as not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.orm import Session

from edgewatch.audit import service as audit
from edgewatch.backtest.fills import ZERO, Action, FillConfig, Order
from edgewatch.backtest.portfolio import Portfolio, Position
from edgewatch.backtest.records import Resolution
from edgewatch.errors import FeeUnknown, InvalidInput, NotFound
from edgewatch.models import Market
from edgewatch.models.paper import (
    PaperAccount,
    PaperOrder,
)
from edgewatch.observability.logging import get_logger
from edgewatch.paper import ledger, repository
from edgewatch.paper.engine import (
    IncomingSignal,
    KillSwitch,
    PaperEngine,
    StepReport,
    Ticket,
    Valuation,
    value_positions,
)
from edgewatch.paper.errors import MarketNotTradable, NoQuote
from edgewatch.paper.policy import Policy, Sizing
from edgewatch.signals.service import market_info
from edgewatch.strategies.base import MarketInfo, Side

log = get_logger(__name__)
SYSTEM_ACTOR = "system:paper"
#: Signals an account takes per step at most; the rest wait for the next step.
SIGNALS_PER_STEP = 1_000


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: a user (``user_id``), an admin, or the system (CLI, pipeline).

    Admins and the system see every account; a user sees their own; an anonymous caller (no
    ``user_id``, not the system) sees none.
    """

    user_id: int | None
    admin: bool = False
    system: bool = False
    actor: str = SYSTEM_ACTOR

    @property
    def sees_every_account(self) -> bool:
        return self.system or self.admin

    def may_see(self, account: PaperAccount) -> bool:
        if self.sees_every_account:
            return True
        return self.user_id is not None and account.owner_id == self.user_id


SYSTEM = Viewer(user_id=None, system=True)


#: Upper bounds of an account's settings: beyond them no figure of the ledger means anything.
MAX_BALANCE = Decimal(10**9)
MAX_POSITION = 10**9
MAX_LATENCY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """What a new account trades with; every field has a conservative default."""

    name: str
    starting_balance: Decimal = Decimal(10_000)
    auto_trade: bool = True
    strategies: tuple[str, ...] | None = None
    policy: Policy = field(default_factory=Policy)
    max_position: int = 1_000
    slippage: Decimal = Decimal("0.01")
    latency: timedelta = timedelta(seconds=2)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("an account needs a name")
        if not self.starting_balance.is_finite() or not 0 < self.starting_balance <= MAX_BALANCE:
            raise InvalidInput(f"starting_balance must be a positive amount up to {MAX_BALANCE:,}")
        if not 0 < self.max_position <= MAX_POSITION:
            raise InvalidInput(f"max_position must be from 1 to {MAX_POSITION:,}")
        if not ZERO <= self.slippage <= 1:
            raise InvalidInput("slippage must be in [0, 1]")
        if not timedelta(0) <= self.latency <= MAX_LATENCY:
            raise InvalidInput(
                f"latency must be from 0 to {MAX_LATENCY.total_seconds():,.0f} seconds"
            )


# --- accounts ------------------------------------------------------------------------------------


def create_account(
    session: Session, settings: AccountSettings, *, owner_id: int | None, actor: str, now: datetime
) -> PaperAccount:
    """A new account with its starting balance in cash. Only signals stored from now on trade."""
    policy = settings.policy
    account = PaperAccount(
        name=settings.name.strip(),
        owner_id=owner_id,
        created_at=now,
        updated_at=now,
        starting_balance=settings.starting_balance,
        cash=settings.starting_balance,
        fees_paid=ZERO,
        turnover=ZERO,
        realised_pnl=ZERO,
        auto_trade=settings.auto_trade,
        strategies=list(settings.strategies) if settings.strategies is not None else None,
        last_signal_id=repository.newest_signal_id(session),
        min_confidence=policy.min_confidence,
        sizing=policy.sizing,
        kelly_fraction=policy.kelly_fraction,
        max_market_exposure=policy.max_market_exposure,
        max_total_exposure=policy.max_total_exposure,
        daily_loss_limit=policy.daily_loss_limit,
        max_position=settings.max_position,
        slippage=settings.slippage,
        latency_seconds=settings.latency.total_seconds(),
        kill_switch=False,
    )
    session.add(account)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="paper.account.created",
        subject_type="paper_account",
        subject_id=account.id,
        details={
            "name": account.name,
            "owner_id": owner_id,
            "starting_balance": str(account.starting_balance),
            **policy_document(account),
        },
    )
    return account


def get_account(
    session: Session, account_id: int, *, viewer: Viewer, lock: bool = False
) -> PaperAccount:
    """The account if ``viewer`` may see it; ``NotFound`` otherwise (also for someone else's)."""
    account = repository.get_account(session, account_id, lock=lock)
    if account is None or not (viewer.sees_every_account or account.owner_id == viewer.user_id):
        raise NotFound(f"paper account {account_id} not found")
    return account


def list_accounts(
    session: Session, *, viewer: Viewer, limit: int, after_id: int | None = None
) -> list[PaperAccount]:
    if not viewer.sees_every_account and viewer.user_id is None:
        return []
    return repository.list_accounts(
        session,
        owner_id=viewer.user_id,
        every_owner=viewer.sees_every_account,
        limit=limit,
        after_id=after_id,
    )


def policy_of(account: PaperAccount) -> Policy:
    sizing: Sizing = "signal" if account.sizing == "signal" else "kelly"
    return Policy(
        min_confidence=account.min_confidence,
        sizing=sizing,
        kelly_fraction=account.kelly_fraction,
        max_market_exposure=account.max_market_exposure,
        max_total_exposure=account.max_total_exposure,
        daily_loss_limit=account.daily_loss_limit,
    )


def fill_config_of(account: PaperAccount) -> FillConfig:
    return FillConfig(slippage=account.slippage, latency=timedelta(seconds=account.latency_seconds))


def policy_document(account: PaperAccount) -> dict[str, Any]:
    return {
        "auto_trade": account.auto_trade,
        "strategies": account.strategies,
        "min_confidence": account.min_confidence,
        "sizing": account.sizing,
        "kelly_fraction": str(account.kelly_fraction),
        "max_market_exposure": str(account.max_market_exposure),
        "max_total_exposure": str(account.max_total_exposure),
        "daily_loss_limit": None
        if account.daily_loss_limit is None
        else str(account.daily_loss_limit),
        "max_position": account.max_position,
        "slippage": str(account.slippage),
        "latency_seconds": account.latency_seconds,
    }


# --- the engine, loaded and saved ----------------------------------------------------------------


@dataclass
class _Loaded:
    account: PaperAccount
    engine: PaperEngine
    pending: list[Ticket]
    orders: dict[int, PaperOrder]
    markets: dict[int, Market]


def _portfolio(session: Session, account: PaperAccount) -> Portfolio:
    positions = [
        Position(
            market_id=row.market_id,
            contracts=row.contracts,
            cost=row.cost,
            trade_cash=row.trade_cash,
            trade_fees=row.trade_fees,
            opened_at=row.opened_at,
        )
        for row in repository.open_positions(session, account.id)
    ]
    return Portfolio.restore(
        starting_cash=account.starting_balance,
        cash=account.cash,
        fees_paid=account.fees_paid,
        turnover=account.turnover,
        positions=positions,
    )


def _ticket(row: PaperOrder) -> Ticket:
    order = Order(
        market_id=row.market_id,
        side="yes" if row.side == "yes" else "no",
        quantity=row.quantity,
        limit_price=row.limit_price,
        submitted_at=row.submitted_at,
        action="sell" if row.action == "sell" else "buy",
        expires_at=row.expires_at,
        reference=row.reference,
    )
    source: Literal["signal", "manual"] = "manual" if row.source == "manual" else "signal"
    return Ticket(order, source, order_id=row.id, signal_id=row.signal_id)


def _load(session: Session, account: PaperAccount, *, extra_markets: Sequence[int] = ()) -> _Loaded:
    portfolio = _portfolio(session, account)
    orders = {row.id: row for row in repository.pending_orders(session, account.id)}
    pending = [_ticket(row) for row in orders.values()]
    wanted = {*portfolio.positions, *(t.order.market_id for t in pending), *extra_markets}
    markets = repository.markets(session, wanted)
    engine = PaperEngine(
        portfolio,
        {market_id: market_info(row) for market_id, row in markets.items()},
        policy=policy_of(account),
        fills=fill_config_of(account),
        max_position=account.max_position,
        data=repository.StoredQuotes(session),
        kill_switch=KillSwitch(
            enabled=account.kill_switch,
            reason=account.kill_switch_reason,
            day_start=account.day_start,
            day_start_equity=account.day_start_equity,
        ),
    )
    return _Loaded(account, engine, pending, orders, markets)


def _resolutions(markets: dict[int, Market], now: datetime) -> list[Resolution]:
    out: list[Resolution] = []
    for row in markets.values():
        if (
            row.resolution in ("yes", "no", "void")
            and row.resolved_at is not None
            and row.resolved_at <= now
        ):
            out.append(Resolution(row.id, row.resolution, row.resolved_at))  # type: ignore[arg-type]
    return out


# --- what callers do -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepSummary:
    account_id: int
    signals: int
    orders: int
    fills: int
    settlements: int
    declined: dict[str, int]
    equity: Decimal
    tripped: bool


def step_account(
    session: Session, account_id: int, *, now: datetime, actor: str = SYSTEM_ACTOR
) -> StepSummary:
    """Settle, fill pending orders, check the daily loss and trade new signals, up to ``now``."""
    account = get_account(session, account_id, viewer=SYSTEM, lock=True)
    # The next window of signal ids, whatever their strategy, so the cursor never skips one.
    cursor = repository.signal_window(
        session, after_id=account.last_signal_id, limit=SIGNALS_PER_STEP
    )
    incoming: list[IncomingSignal] = []
    if account.auto_trade:
        found = repository.new_signals(
            session,
            after_id=account.last_signal_id,
            up_to_id=cursor,
            strategies=account.strategies,
        )
        incoming = [IncomingSignal(signal, signal_id) for signal_id, signal in found]
    loaded = _load(session, account, extra_markets=[s.signal.market_id for s in incoming])
    # Signals for markets that do not exist (deleted since) cannot trade.
    incoming = [s for s in incoming if s.signal.market_id in loaded.markets]
    report = loaded.engine.step(
        now,
        pending=loaded.pending,
        signals=incoming,
        resolutions=_resolutions(loaded.markets, now),
    )
    ledger.save_step(session, account, loaded.engine, loaded.orders, report, actor=actor, now=now)
    account.last_signal_id = max(account.last_signal_id, cursor)
    account.stepped_at = now
    fills = sum(1 for t in [*report.created, *report.changed] if t.fill is not None)
    if fills or report.settlements or report.tripped:
        log.info(
            "paper_account_stepped",
            account_id=account.id,
            orders=len(report.created),
            fills=fills,
            settlements=len(report.settlements),
            kill_switch_tripped=report.tripped is not None,
        )
    return StepSummary(
        account_id=account.id,
        signals=len(incoming),
        orders=len(report.created),
        fills=fills,
        settlements=len(report.settlements),
        declined=dict(report.declined),
        equity=report.valuation.equity if report.valuation else account.cash,
        tripped=report.tripped is not None,
    )


def place_order(
    session: Session,
    account_id: int,
    *,
    viewer: Viewer,
    market_id: int,
    side: Side,
    action: Action,
    quantity: int,
    limit_price: Decimal | None,
    now: datetime,
    max_quote_age: timedelta,
    ttl: timedelta,
) -> PaperOrder:
    """A manual order, checked against the latest quote and stored ``pending`` (or filled).

    Refused with a 4xx error when the market is unknown (404), closed or resolved, has no quote
    in the last ``max_quote_age``, no known fees (422), or the account's kill switch is on or its
    cash, position cap or holdings do not allow it (409). It fills like every order: on the first
    quote at or after its arrival (``edgewatch paper run`` / the ``paper-trade`` pipeline step),
    and expires after ``ttl`` without one.
    """
    account = get_account(session, account_id, viewer=viewer, lock=True)
    market = session.get(Market, market_id)
    if market is None:
        raise NotFound(f"market {market_id} not found")
    if market.fee_schedule is None:
        raise FeeUnknown(f"market {market_id} has no known fee terms: it cannot be traded")
    if market.resolution is not None or market.status in ("resolved", "void"):
        raise MarketNotTradable(f"market {market_id} has resolved ({market.resolution})")
    if market.status != "open":
        raise MarketNotTradable(f"market {market_id} is {market.status}: it no longer trades")
    if market.close_time is not None and market.close_time <= now:
        raise MarketNotTradable(
            f"market {market_id} closed at {market.close_time.isoformat()}: it no longer trades"
        )
    latest = repository.latest_quote(session, market_id, at=now)
    if latest is None or now - latest.ts > max_quote_age:
        age = "no quote at all" if latest is None else f"its last quote is {now - latest.ts} old"
        raise NoQuote(
            f"market {market_id} has {age}; orders need a quote from the last "
            f"{int(max_quote_age.total_seconds())} s"
        )
    loaded = _load(session, account, extra_markets=[market_id])
    ticket = loaded.engine.manual_order(
        market_id=market_id,
        side=side,
        action=action,
        quantity=quantity,
        limit_price=limit_price,
        latest=latest,
        now=now,
        expires_at=now + ttl,
    )
    report = StepReport(created=[ticket], trades=loaded.engine.portfolio.trades[:])
    ledger.save_step(
        session, loaded.account, loaded.engine, loaded.orders, report, actor=viewer.actor, now=now
    )
    assert ticket.order_id is not None
    return session.get_one(PaperOrder, ticket.order_id)


def set_kill_switch(
    session: Session, account_id: int, *, viewer: Viewer, enabled: bool, now: datetime
) -> PaperAccount:
    """Turn the kill switch on (pending orders are cancelled) or off. Idempotent."""
    account = get_account(session, account_id, viewer=viewer, lock=True)
    if account.kill_switch == enabled:
        return account
    reason = f"turned {'on' if enabled else 'off'} by {viewer.actor}"
    ledger.set_switch(session, account, enabled=enabled, reason=reason, actor=viewer.actor, now=now)
    if enabled:
        for row in repository.pending_orders(session, account.id):
            row.status, row.reason, row.closed_at = "cancelled", "kill_switch", now
            ledger.audit_close(session, row, actor=viewer.actor)
    else:
        # A fresh day baseline, so the same loss does not trip the switch again at once.
        account.day_start, account.day_start_equity = None, None
    session.flush()
    return account


def valuation(session: Session, account: PaperAccount, *, now: datetime) -> Valuation:
    """The account marked to the last mid prices at or before ``now``."""
    return value_positions(_portfolio(session, account), repository.StoredQuotes(session), now)


def market_infos(session: Session, market_ids: Sequence[int]) -> dict[int, MarketInfo]:
    return {
        market_id: market_info(row)
        for market_id, row in repository.markets(session, market_ids).items()
    }
