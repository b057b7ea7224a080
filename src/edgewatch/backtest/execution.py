"""Orders, fills and settlements against one portfolio: the money path backtests and paper share.

A backtest replay and a paper account differ in where quotes and signals come from (a tick
history in memory, or the database as it fills up live); everything that touches money goes
through one ``Executor``, so the two cannot drift apart:

* ``signal_order`` sizes a signal with a ``Sizer`` (the backtest's default takes the signal's
  ``size_hint``; paper trading passes its policy) and caps it: at most ``max_position`` contracts
  per market either way, and never more than the cash can pay for at the limit price with the fee
  priced where it peaks (an order is sized before its fill price is known);
* ``execute`` fills an order against a quote with the one fill model (``fills.fill_order``),
  capping it again at the actual price, and books the fill;
* ``settle`` pays out a resolved market; orders for it are refused from then on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from edgewatch.backtest.fills import (
    ONE,
    ZERO,
    Action,
    Fill,
    FillConfig,
    Order,
    Quote,
    Rejection,
    RejectReason,
    fill_order,
    order_fee,
    to_price,
)
from edgewatch.backtest.portfolio import HALF, Outcome, Portfolio, Settlement
from edgewatch.errors import FeeUnknown
from edgewatch.strategies.base import MarketInfo, ProposedSignal, Side

#: How many contracts a signal asks for, given the portfolio now; or why it asks for none.
Sizer = Callable[[ProposedSignal, Portfolio], int | RejectReason]

#: Cash reserve per contract when shrinking an order that cash cannot pay (a fee never exceeds
#: 2 cents per contract on either venue, plus a cent of rounding).
_FEE_RESERVE = Decimal("0.03")


def hinted_size(signal: ProposedSignal) -> int:
    """Whole contracts the strategy suggests (``floor(size_hint)``; 0 if it is not finite)."""
    return math.floor(signal.size_hint) if math.isfinite(signal.size_hint) else 0


def size_from_hint(signal: ProposedSignal, portfolio: Portfolio) -> int | RejectReason:
    """The backtest's default sizer: the strategy's own ``size_hint``, in whole contracts."""
    return hinted_size(signal)


def signal_limit(signal: ProposedSignal) -> Decimal:
    """The signal's limit price as an exact decimal in [0, 1]."""
    return min(max(to_price(signal.limit_price), ZERO), ONE)


class Executor:
    """Submits, fills and settles orders for one ``Portfolio``; see the module doc."""

    def __init__(
        self,
        portfolio: Portfolio,
        markets: Mapping[int, MarketInfo],
        *,
        fills: FillConfig,
        max_position: int,
        settled: set[int] | None = None,
    ) -> None:
        self.portfolio = portfolio
        self.markets = markets
        self.fill_config = fills
        self.max_position = max_position
        #: Markets already settled: orders for them are refused.
        self.settled: set[int] = set() if settled is None else settled
        self.fills: list[Fill] = []
        self.rejections: list[Rejection] = []

    def reject(self, order: Order, reason: RejectReason, at: datetime) -> Rejection:
        rejection = Rejection(order, reason, at)
        self.rejections.append(rejection)
        return rejection

    def signal_order(
        self, signal: ProposedSignal, *, submitted_at: datetime, sizer: Sizer = size_from_hint
    ) -> Order | Rejection:
        """The order for ``signal`` sent at ``submitted_at``, sized and capped; or its rejection."""
        return self.order(
            market_id=signal.market_id,
            side=signal.side,
            wanted=sizer(signal, self.portfolio),
            limit_price=signal_limit(signal),
            submitted_at=submitted_at,
            expires_at=signal.expires_at,
            reference=signal.dedupe_key,
            requested=hinted_size(signal),
        )

    def order(
        self,
        *,
        market_id: int,
        side: Side,
        wanted: int | RejectReason,
        limit_price: Decimal,
        submitted_at: datetime,
        expires_at: datetime | None = None,
        reference: str = "",
        action: Action = "buy",
        requested: int = 1,
    ) -> Order | Rejection:
        """A capped order for ``wanted`` contracts, or a recorded rejection.

        ``requested`` is the quantity a rejected order is recorded with when ``wanted`` is a
        reason or below one contract.
        """
        quantity = wanted if isinstance(wanted, int) and wanted >= 1 else max(requested, 1)
        order = Order(
            market_id=market_id,
            side=side,
            quantity=quantity,
            limit_price=limit_price,
            submitted_at=submitted_at,
            action=action,
            expires_at=expires_at,
            reference=reference,
        )
        reason: RejectReason | None
        if isinstance(wanted, str):
            reason = wanted
        elif wanted < 1:
            reason = "too_small"
        elif market_id in self.settled:
            reason = "market_resolved"
        else:
            allowed = self.capped(
                self.markets[market_id], side, wanted, limit_price, action=action, worst_fee=True
            )
            if isinstance(allowed, str):
                reason = allowed
            else:
                reason = None
                order = dataclasses.replace(order, quantity=allowed)
        if reason is not None:
            return self.reject(order, reason, submitted_at)
        return order

    def capped(
        self,
        market: MarketInfo,
        side: Side,
        wanted: int,
        price: Decimal,
        *,
        action: Action = "buy",
        worst_fee: bool = False,
    ) -> int | RejectReason:
        """Contracts allowed by the position cap and the cash, or the reason there are none.

        With ``worst_fee`` the fee is priced at 0.5, where both venues' fees peak: an order sized
        before its fill price is known can then always pay its fee. A sale is capped by the
        contracts of that side held, and refused if its fee would take more than the cash
        and the proceeds.
        """
        held_side, held = self.portfolio.held(market.market_id)
        try:
            if action == "sell":
                quantity = min(wanted, held) if held_side == side else 0
                if quantity <= 0:
                    return "nothing_to_sell"
                fee = order_fee(market, price=HALF if worst_fee else price, quantity=quantity)
                if fee - price * quantity > self.portfolio.cash:
                    return "insufficient_cash"
                return quantity
            room = (
                self.max_position - held if held_side in (None, side) else held + self.max_position
            )
            quantity = min(wanted, room)
            if quantity <= 0:
                return "position_limit"
            while quantity > 0:
                fee = order_fee(market, price=HALF if worst_fee else price, quantity=quantity)
                need = self.portfolio.cash_needed(
                    market_id=market.market_id, side=side, quantity=quantity, price=price, fee=fee
                )
                if need <= self.portfolio.cash:
                    return quantity
                quantity -= max(1, int((need - self.portfolio.cash) / (price + _FEE_RESERVE)))
        except FeeUnknown:
            return "fee_unknown"
        return "insufficient_cash"

    def execute(self, order: Order, quote: Quote) -> Fill | Rejection:
        """Fill ``order`` against ``quote`` (at or after its arrival) and book it."""
        if order.market_id in self.settled:
            return self.reject(order, "market_resolved", quote.ts)
        market = self.markets[order.market_id]
        outcome = fill_order(order, quote, market=market, config=self.fill_config)
        if isinstance(outcome, Fill):
            allowed = self.capped(
                market, order.side, outcome.quantity, outcome.price, action=order.action
            )
            if isinstance(allowed, str):
                return self.reject(order, allowed, quote.ts)
            if allowed < outcome.quantity:
                outcome = fill_order(
                    order, quote, market=market, config=self.fill_config, max_quantity=allowed
                )
        if isinstance(outcome, Rejection):
            self.rejections.append(outcome)
            return outcome
        self.portfolio.apply(outcome)
        self.fills.append(outcome)
        return outcome

    def settle(self, market_id: int, resolution: Outcome, at: datetime) -> Settlement | None:
        """Pay out ``market_id``; ``None`` if nothing was held. Later orders are refused."""
        self.settled.add(market_id)
        return self.portfolio.settle(self.markets[market_id], resolution, at)
