"""API models of paper trading. Money is an exact decimal string; prices are in [0, 1]."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from edgewatch.api.params import MAX_ID
from edgewatch.backtest.fills import ONE
from edgewatch.models.paper import (
    PaperAccount,
    PaperEquity,
    PaperFill,
    PaperOrder,
    PaperPosition,
    PaperSettlement,
)
from edgewatch.paper.engine import Valuation
from edgewatch.paper.policy import Policy
from edgewatch.paper.service import (
    MAX_BALANCE,
    MAX_LATENCY,
    MAX_POSITION,
    AccountSettings,
    policy_of,
)

OrderStatus = Literal["pending", "filled", "partially_filled", "rejected", "cancelled"]
Side = Literal["yes", "no"]


def plain(value: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros: ``54.27``, ``100``, ``0.9516``."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


#: Money and prices in responses: exact decimal strings.
Money = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
StrategyName = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]


class PolicySettings(BaseModel):
    """How the account trades signals; every field defaults to the conservative default."""

    model_config = ConfigDict(extra="forbid")

    min_confidence: float = Field(default=0.5, ge=0, le=1, allow_inf_nan=False, strict=True)
    sizing: Literal["kelly", "signal"] = "kelly"
    kelly_fraction: Money = Field(
        default=Decimal("0.25"), gt=0, le=1, allow_inf_nan=False, decimal_places=10
    )
    max_market_exposure: Money = Field(
        default=Decimal(500), gt=0, le=10**9, allow_inf_nan=False, decimal_places=10
    )
    max_total_exposure: Money = Field(
        default=Decimal(5_000), gt=0, le=10**9, allow_inf_nan=False, decimal_places=10
    )
    daily_loss_limit: Money | None = Field(
        default=Decimal(1_000), gt=0, le=10**9, allow_inf_nan=False, decimal_places=10
    )

    def to_policy(self) -> Policy:
        return Policy(**self.model_dump())

    @classmethod
    def of(cls, account: PaperAccount) -> PolicySettings:
        policy = policy_of(account)
        return cls(
            min_confidence=policy.min_confidence,
            sizing=policy.sizing,
            kelly_fraction=policy.kelly_fraction,
            max_market_exposure=policy.max_market_exposure,
            max_total_exposure=policy.max_total_exposure,
            daily_loss_limit=policy.daily_loss_limit,
        )


class AccountCreate(BaseModel):
    """A new paper account. Only signals stored after it is created are traded."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$")
    starting_balance: Money = Field(
        default=Decimal(10_000), gt=0, le=MAX_BALANCE, allow_inf_nan=False, decimal_places=10
    )
    auto_trade: bool = Field(default=True, strict=True)
    strategies: list[StrategyName] | None = Field(
        default=None,
        max_length=50,
        description="Trade only these strategies' signals (default: all).",
    )
    policy: PolicySettings = Field(default_factory=PolicySettings)
    max_position: int = Field(default=1_000, ge=1, le=MAX_POSITION, strict=True)
    slippage: Money = Field(
        default=Decimal("0.01"), ge=0, le=1, allow_inf_nan=False, decimal_places=10
    )
    latency_seconds: float = Field(
        default=2.0, ge=0, le=MAX_LATENCY.total_seconds(), allow_inf_nan=False, strict=True
    )

    def to_settings(self) -> AccountSettings:
        return AccountSettings(
            name=self.name,
            starting_balance=self.starting_balance,
            auto_trade=self.auto_trade,
            strategies=None if self.strategies is None else tuple(self.strategies),
            policy=self.policy.to_policy(),
            max_position=self.max_position,
            slippage=self.slippage,
            latency=timedelta(seconds=self.latency_seconds),
        )


class KillSwitchOut(BaseModel):
    enabled: bool
    reason: str | None
    at: datetime | None


class KillSwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(strict=True)


class AccountOut(BaseModel):
    """An account with its cash, P&L and equity marked to the last mid prices."""

    id: int
    name: str
    owner_id: int | None
    created_at: datetime
    starting_balance: Money
    cash: Money
    positions_value: Money = Field(description="Open positions at their last mid price.")
    equity: Money
    pnl: Money = Field(description="Equity less the starting balance.")
    realised_pnl: Money
    unrealised_pnl: Money
    fees_paid: Money
    auto_trade: bool
    strategies: list[str] | None
    policy: PolicySettings
    max_position: int
    slippage: Money
    latency_seconds: float
    kill_switch: KillSwitchOut
    stepped_at: datetime | None

    @classmethod
    def from_account(cls, account: PaperAccount, valuation: Valuation) -> AccountOut:
        unrealised = sum(valuation.unrealised.values(), Decimal(0))
        return cls(
            id=account.id,
            name=account.name,
            owner_id=account.owner_id,
            created_at=account.created_at,
            starting_balance=account.starting_balance,
            cash=account.cash,
            positions_value=valuation.positions_value,
            equity=valuation.equity,
            pnl=valuation.equity - account.starting_balance,
            realised_pnl=account.realised_pnl,
            unrealised_pnl=unrealised,
            fees_paid=account.fees_paid,
            auto_trade=account.auto_trade,
            strategies=account.strategies,
            policy=PolicySettings.of(account),
            max_position=account.max_position,
            slippage=account.slippage,
            latency_seconds=account.latency_seconds,
            kill_switch=KillSwitchOut(
                enabled=account.kill_switch,
                reason=account.kill_switch_reason,
                at=account.kill_switch_at,
            ),
            stepped_at=account.stepped_at,
        )


class PositionOut(BaseModel):
    market_id: int
    side: Side | None = Field(description="The side held; null when flat.")
    contracts: int
    cost: Money = Field(description="What the contracts held cost, fees excluded.")
    average_price: Money | None
    mark_price: Money | None = Field(description="Last mid price of the side held.")
    value: Money | None
    unrealised_pnl: Money | None = Field(
        description="Value plus the cash flows of the open round trip (fees included)."
    )
    realised_pnl: Money
    opened_at: datetime | None

    @classmethod
    def from_row(cls, row: PaperPosition, yes_mid: Decimal | None) -> PositionOut:
        held = abs(row.contracts)
        side: Side | None = None if row.contracts == 0 else ("yes" if row.contracts > 0 else "no")
        mark = None
        if side is not None and yes_mid is not None:
            mark = yes_mid if side == "yes" else ONE - yes_mid
        value = None if mark is None else mark * held
        return cls(
            market_id=row.market_id,
            side=side,
            contracts=held,
            cost=row.cost,
            average_price=(row.cost / held).quantize(Decimal("1e-6")) if held else None,
            mark_price=mark,
            value=value,
            unrealised_pnl=None if value is None else row.trade_cash + value,
            realised_pnl=row.realised_pnl,
            opened_at=row.opened_at,
        )


class OrderCreate(BaseModel):
    """A manual order. Without ``limit_price`` a buy takes any ask and a sale any bid."""

    model_config = ConfigDict(extra="forbid")

    market_id: int = Field(ge=1, le=MAX_ID, strict=True)
    side: Side
    action: Literal["buy", "sell"] = "buy"
    quantity: int = Field(ge=1, le=1_000_000, strict=True, description="Whole contracts.")
    limit_price: Decimal | None = Field(
        default=None, ge=0, le=1, allow_inf_nan=False, max_digits=7, decimal_places=6
    )


class OrderOut(BaseModel):
    id: int
    source: Literal["signal", "manual"]
    signal_id: int | None
    market_id: int
    side: Side
    action: Literal["buy", "sell"]
    quantity: int
    limit_price: Money
    submitted_at: datetime
    arrives_at: datetime = Field(description="Fills on the first quote at or after this time.")
    expires_at: datetime | None
    status: OrderStatus
    reason: str | None = Field(description="Why it was rejected or cancelled.")
    filled_quantity: int
    closed_at: datetime | None

    @classmethod
    def from_row(cls, row: PaperOrder) -> OrderOut:
        return cls.model_validate(row, from_attributes=True)


class FillOut(BaseModel):
    id: int
    order_id: int
    market_id: int
    side: Side
    action: Literal["buy", "sell"]
    quantity: int
    price: Money
    quote_price: Money
    fee: Money
    cash_flow: Money
    filled_at: datetime

    @classmethod
    def from_row(cls, row: PaperFill) -> FillOut:
        return cls.model_validate(row, from_attributes=True)


class SettlementOut(BaseModel):
    id: int
    market_id: int
    resolution: Literal["yes", "no", "void"]
    side: Side
    contracts: int
    payout: Money
    pnl: Money = Field(description="P&L of the round trip the settlement closed, fees included.")
    settled_at: datetime

    @classmethod
    def from_row(cls, row: PaperSettlement) -> SettlementOut:
        return cls.model_validate(row, from_attributes=True)


class EquityPointOut(BaseModel):
    ts: datetime
    equity: Money
    cash: Money
    positions_value: Money
    realised_pnl: Money
    unrealised_pnl: Money

    @classmethod
    def from_row(cls, row: PaperEquity) -> EquityPointOut:
        return cls.model_validate(row, from_attributes=True)
