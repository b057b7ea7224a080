"""The one fill model: how an order meets a quote, shared by backtests and paper trading.

An order is a taker order that is good for one quote (immediate-or-cancel):

* It reaches the venue ``latency`` after it is submitted and meets the first quote of its market at
  or after that moment; the quote time is the fill time.
* It pays the far side of the quote, never the mid: buying YES pays the ask, buying NO pays
  ``1 − bid`` (a NO bought is a YES sold at the bid); selling YES receives the bid, selling NO
  receives ``1 − ask``. ``slippage`` (probability points) then moves the price against the order.
* It fills at most the displayed size on that side (rounded down to whole contracts); the rest is
  cancelled. A quote with no displayed size fills nothing while sizes are respected.
* It never fills at a price worse than its limit; if the slipped price is, nothing fills.
* Its fee is the venue's fee for the whole fill at the fill price, from ``venues.fees.market_fee``
  and rounded as the venue rounds it (Kalshi up to the cent per order, Polymarket to 5 decimals).
  A market without known fee terms does not trade (``FeeUnknown`` becomes a rejection).

Money is ``Decimal``; prices are taken from the float quotes rounded to 6 decimals first, so that
``0.43`` means exactly 0.43.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from edgewatch.errors import FeeUnknown, InvalidInput
from edgewatch.strategies.base import MarketInfo, Side
from edgewatch.venues.fees import market_fee

Action = Literal["buy", "sell"]
RejectReason = Literal[
    "limit",
    "no_liquidity",
    "no_quote",
    "expired",
    "fee_unknown",
    "insufficient_cash",
    "position_limit",
    "nothing_to_sell",
    "market_resolved",
    "too_small",
    # Paper trading's policy (see ``paper.policy``): signals it declines to trade.
    "low_confidence",
    "no_edge",
    "exposure_limit",
    "kill_switch",
]

ZERO = Decimal(0)
ONE = Decimal(1)


@lru_cache(maxsize=65_536)
def to_price(value: float) -> Decimal:
    """A float probability as the exact decimal it was meant to be (6 decimals)."""
    if not math.isfinite(value):
        raise InvalidInput(f"price must be finite, got {value!r}")
    return Decimal(str(round(value, 6)))


@dataclass(frozen=True, slots=True)
class FillConfig:
    """How pessimistic fills are. The defaults are deliberately unflattering.

    ``slippage`` is in probability points (0.01 = one cent per contract against the order);
    ``latency`` is the delay between submitting an order and its meeting a quote.
    """

    slippage: Decimal = Decimal("0.01")
    latency: timedelta = timedelta(seconds=2)
    limit_to_displayed_size: bool = True

    def warnings(self) -> list[str]:
        """One sentence for every setting that flatters results."""
        found: list[str] = []
        if self.slippage <= 0:
            found.append("slippage is zero: fills assume the quoted price is always available")
        if self.latency <= timedelta(0):
            found.append("latency is zero: orders fill against the very quote that produced them")
        if not self.limit_to_displayed_size:
            found.append("displayed size is ignored: fills assume unlimited depth at the quote")
        return found


@dataclass(frozen=True, slots=True)
class Quote:
    """One top-of-book observation of a market; sizes are in contracts, ``None`` if not shown."""

    market_id: int
    ts: datetime
    bid: float | None
    ask: float | None
    bid_size: float | None = None
    ask_size: float | None = None

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class Order:
    """A taker order for whole contracts of one side of a binary market.

    ``limit_price`` is the worst acceptable price per contract of ``side``: a maximum for buys, a
    minimum for sells.
    """

    market_id: int
    side: Side
    quantity: int
    limit_price: Decimal
    submitted_at: datetime
    action: Action = "buy"
    expires_at: datetime | None = None
    #: The dedupe key of the signal behind the order, or any caller reference.
    reference: str = ""

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidInput(f"order quantity must be positive, got {self.quantity}")
        if not ZERO <= self.limit_price <= ONE:
            raise InvalidInput(f"limit price must be in [0, 1], got {self.limit_price}")


@dataclass(frozen=True, slots=True)
class Fill:
    """An executed order (possibly partly). Immutable: corrections are new records."""

    market_id: int
    side: Side
    action: Action
    quantity: int
    requested: int
    price: Decimal
    quote_price: Decimal
    fee: Decimal
    filled_at: datetime
    submitted_at: datetime
    reference: str = ""

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity

    @property
    def cash_flow(self) -> Decimal:
        """Cash in (positive) or out (negative) for this fill, fee included."""
        if self.action == "buy":
            return -self.notional - self.fee
        return self.notional - self.fee


@dataclass(frozen=True, slots=True)
class Rejection:
    """An order that filled nothing, and why."""

    order: Order
    reason: RejectReason
    at: datetime


def arrival_time(order: Order, config: FillConfig) -> datetime:
    """When the order reaches the venue: fill it against the first quote at or after this."""
    return order.submitted_at + config.latency


def taker_price(
    quote: Quote, *, side: Side, action: Action, slippage: Decimal
) -> tuple[Decimal, Decimal, float | None] | None:
    """(price paid or received, price quoted, displayed size) for a taker; ``None`` if no quote.

    The price is clamped to [0, 1] after slippage.
    """
    buy = action == "buy"
    # Buying YES or selling NO lifts the YES ask; buying NO or selling YES hits the YES bid.
    uses_ask = buy == (side == "yes")
    raw = quote.ask if uses_ask else quote.bid
    if raw is None or not math.isfinite(raw):
        return None
    yes_price = to_price(raw)
    quoted = yes_price if side == "yes" else ONE - yes_price
    size = quote.ask_size if uses_ask else quote.bid_size
    price = quoted + slippage if buy else quoted - slippage
    return min(max(price, ZERO), ONE), quoted, size


def fill_order(
    order: Order,
    quote: Quote,
    *,
    market: MarketInfo,
    config: FillConfig,
    max_quantity: int | None = None,
) -> Fill | Rejection:
    """Fill ``order`` against ``quote`` under ``config``.

    ``quote`` must belong to the order's market and be at or after ``arrival_time(order)``
    (``InvalidInput`` otherwise). ``max_quantity`` lets the caller cap the fill further (cash,
    position held). Returns a ``Fill`` for a full or partial fill, a ``Rejection`` otherwise.
    """
    if quote.market_id != order.market_id or market.market_id != order.market_id:
        raise InvalidInput("quote, market and order must be for the same market")
    if quote.ts < arrival_time(order, config):
        raise InvalidInput("a quote before the order's arrival time cannot fill it")
    if order.expires_at is not None and quote.ts > order.expires_at:
        return Rejection(order, "expired", quote.ts)
    priced = taker_price(quote, side=order.side, action=order.action, slippage=config.slippage)
    if priced is None:
        return Rejection(order, "no_liquidity", quote.ts)
    price, quoted, size = priced
    worse_than_limit = (
        price > order.limit_price if order.action == "buy" else price < order.limit_price
    )
    if worse_than_limit:
        return Rejection(order, "limit", quote.ts)
    quantity = order.quantity if max_quantity is None else min(order.quantity, max_quantity)
    if config.limit_to_displayed_size:
        shown = 0 if size is None or not math.isfinite(size) else math.floor(size)
        quantity = min(quantity, shown)
    if quantity <= 0:
        return Rejection(order, "no_liquidity", quote.ts)
    try:
        fee = order_fee(market, price=price, quantity=quantity)
    except FeeUnknown:
        return Rejection(order, "fee_unknown", quote.ts)
    return Fill(
        market_id=order.market_id,
        side=order.side,
        action=order.action,
        quantity=quantity,
        requested=order.quantity,
        price=price,
        quote_price=quoted,
        fee=fee,
        filled_at=quote.ts,
        submitted_at=order.submitted_at,
        reference=order.reference,
    )


def order_fee(market: MarketInfo, *, price: Decimal, quantity: int) -> Decimal:
    """The venue's taker fee for one order of ``quantity`` contracts; ``FeeUnknown`` if unknown."""
    return _fee(market.fee_schedule, market.fee_multiplier, market.fee_rate, price, quantity)


@lru_cache(maxsize=65_536)
def _fee(
    schedule: str | None,
    multiplier: Decimal | None,
    rate: Decimal | None,
    price: Decimal,
    quantity: int,
) -> Decimal:
    # Replays price the same few (price, size) pairs over and over; the fee is a pure function.
    return market_fee(
        fee_schedule=schedule,
        fee_multiplier=multiplier,
        fee_rate=rate,
        price=price,
        contracts=quantity,
    )
