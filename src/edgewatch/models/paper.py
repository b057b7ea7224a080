"""Paper trading: accounts, their orders, fills, positions, settlements and equity snapshots.

Money columns are exact decimals (``Money``, as the backtest ledger): prices have 6 places, Kalshi
fees 2, Polymarket fees 5, and a position's cost is split pro rata to 10. Fills and settlements are
immutable once written; an order changes only from ``pending`` to its final status. The account row
holds the portfolio's cash and totals, the policy it trades with and its kill switch; it is locked
(``SELECT … FOR UPDATE``) while an order or a pipeline step changes it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, false
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.clock import utcnow
from edgewatch.models.backtest import Money
from edgewatch.models.base import Base

PAPER_ORDER_STATUSES = ("pending", "filled", "partially_filled", "rejected", "cancelled")
PAPER_ORDER_SOURCES = ("signal", "manual")
PAPER_SIZINGS = ("kelly", "signal")
Ratio = Numeric(10, 6)


class PaperAccount(Base):
    __tablename__ = "paper_accounts"
    __table_args__ = (
        CheckConstraint("starting_balance >= 0", name="starting_balance"),
        CheckConstraint(f"sizing IN {PAPER_SIZINGS!r}", name="sizing"),
        CheckConstraint("min_confidence >= 0 AND min_confidence <= 1", name="min_confidence"),
        CheckConstraint("max_position > 0", name="max_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The user who owns the account; NULL for accounts made from the CLI or by the system.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    starting_balance: Mapped[Decimal] = mapped_column(Money)
    cash: Mapped[Decimal] = mapped_column(Money)
    fees_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    turnover: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    #: P&L of closed round trips (netted, sold or settled), fees included.
    realised_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    #: Trade the signals of ``strategies`` (all strategies if NULL) through the policy below.
    auto_trade: Mapped[bool] = mapped_column(default=True)
    strategies: Mapped[list[str] | None]
    #: The newest signal id this account has considered; signals are taken in id order.
    last_signal_id: Mapped[int] = mapped_column(default=0)
    # The policy (``paper.policy.Policy``).
    min_confidence: Mapped[float]
    sizing: Mapped[str] = mapped_column(String(8))
    kelly_fraction: Mapped[Decimal] = mapped_column(Ratio)
    max_market_exposure: Mapped[Decimal] = mapped_column(Money)
    max_total_exposure: Mapped[Decimal] = mapped_column(Money)
    daily_loss_limit: Mapped[Decimal | None] = mapped_column(Money)
    # Execution, as in a backtest's ``BacktestConfig``/``FillConfig``.
    max_position: Mapped[int]
    slippage: Mapped[Decimal] = mapped_column(Ratio)
    latency_seconds: Mapped[float]
    # The kill switch, and the day the daily loss is measured from.
    kill_switch: Mapped[bool] = mapped_column(default=False, server_default=false())
    kill_switch_reason: Mapped[str | None] = mapped_column(String(300))
    kill_switch_at: Mapped[datetime | None]
    day_start: Mapped[datetime | None]
    day_start_equity: Mapped[Decimal | None] = mapped_column(Money)
    #: When the account was last stepped by the paper pipeline.
    stepped_at: Mapped[datetime | None]


class PaperOrder(Base):
    __tablename__ = "paper_orders"
    __table_args__ = (
        CheckConstraint(f"status IN {PAPER_ORDER_STATUSES!r}", name="status"),
        CheckConstraint(f"source IN {PAPER_ORDER_SOURCES!r}", name="source"),
        CheckConstraint("side IN ('yes', 'no')", name="side"),
        CheckConstraint("action IN ('buy', 'sell')", name="action"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index("ix_paper_orders_account_id_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_accounts.id", ondelete="CASCADE"))
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("signals.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(8))
    side: Mapped[str] = mapped_column(String(3))
    action: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int]
    limit_price: Mapped[Decimal] = mapped_column(Money)
    submitted_at: Mapped[datetime]
    #: Submission plus latency: the order fills on the first quote at or after this time.
    arrives_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(32))
    filled_quantity: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None]
    reference: Mapped[str] = mapped_column(String(200), default="")


class PaperFill(Base):
    __tablename__ = "paper_fills"
    __table_args__ = (Index("ix_paper_fills_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_accounts.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(
        ForeignKey("paper_orders.id", ondelete="CASCADE"), unique=True
    )
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(3))
    action: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int]
    price: Mapped[Decimal] = mapped_column(Money)
    #: The quoted price before slippage.
    quote_price: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    #: Cash the fill moved, fee included (a netting buy also receives $1 per closed pair).
    cash_flow: Mapped[Decimal] = mapped_column(Money)
    filled_at: Mapped[datetime]


class PaperPosition(Base):
    """One market of one account. Kept when flat, for its realised P&L."""

    __tablename__ = "paper_positions"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("paper_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    market_id: Mapped[int] = mapped_column(
        ForeignKey("markets.id", ondelete="CASCADE"), primary_key=True
    )
    #: Positive: YES contracts held; negative: NO contracts held.
    contracts: Mapped[int] = mapped_column(default=0)
    #: What the contracts held cost, fees excluded.
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    #: Cash flows (and the fees among them) of the round trip still open.
    trade_cash: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    trade_fees: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    opened_at: Mapped[datetime | None]
    realised_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaperSettlement(Base):
    __tablename__ = "paper_settlements"
    __table_args__ = (Index("ix_paper_settlements_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("paper_accounts.id", ondelete="CASCADE"))
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id", ondelete="CASCADE"))
    resolution: Mapped[str] = mapped_column(String(8))
    side: Mapped[str] = mapped_column(String(3))
    contracts: Mapped[int]
    payout: Mapped[Decimal] = mapped_column(Money)
    #: P&L of the round trip the settlement closed, fees included.
    pnl: Mapped[Decimal] = mapped_column(Money)
    settled_at: Mapped[datetime]


class PaperEquity(Base):
    """The account marked to the last mid prices, once per pipeline step."""

    __tablename__ = "paper_equity"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("paper_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    equity: Mapped[Decimal] = mapped_column(Money)
    cash: Mapped[Decimal] = mapped_column(Money)
    positions_value: Mapped[Decimal] = mapped_column(Money)
    realised_pnl: Mapped[Decimal] = mapped_column(Money)
    unrealised_pnl: Mapped[Decimal] = mapped_column(Money)
