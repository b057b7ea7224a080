"""The trading policy: which signals a paper account trades, and how many contracts.

Pure: a signal and the account's portfolio in, a number of contracts (or the reason for none) out.
It plugs into the shared money path as a ``Sizer`` (``backtest.execution``), so a backtest can
run the very policy a paper account runs (``run_backtest(..., sizer=policy.size)``).

For a signal to buy ``side`` at limit price ``p`` with expected profit ``edge`` per contract (after
fees) and confidence ``c``, the policy

1. declines it if ``c < min_confidence`` (``low_confidence``) or if ``edge <= 0`` or ``p`` is not
   strictly between 0 and 1 (``no_edge``);
2. stakes a fraction of the bankroll: ``f = kelly_fraction · c · edge / (1 − p)``. A contract
   costing ``p`` that pays 1 with probability ``q = p + edge`` has the Kelly fraction
   ``(q − p) / (1 − p)``; the confidence and the fraction (a quarter Kelly by default) shrink it,
   because the edge is an estimate. The bankroll is cash plus the cost of open positions (equity at
   cost: sizing never depends on a mark that may be stale). Contracts: ``floor(f · bankroll / p)``,
   and never more than the strategy's ``floor(size_hint)`` (its view of the depth on offer);
3. caps the cost of the order so that the position's cost in that market stays within
   ``max_market_exposure`` and the cost of all open positions within ``max_total_exposure``
   (``exposure_limit`` when there is no room for one contract).

With ``sizing = "signal"`` step 2 is replaced by ``floor(size_hint)``: the backtest engine's own
default, which the parity tests use to compare the two engines contract for contract.

The execution caps (``max_position`` contracts, no leverage) are applied after the policy, by the
executor, in backtests and paper trading alike. The daily-loss kill switch needs marked prices and
lives with the account (``engine``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from edgewatch.backtest.execution import hinted_size, signal_limit
from edgewatch.backtest.fills import ONE, ZERO, RejectReason
from edgewatch.backtest.portfolio import Portfolio
from edgewatch.errors import InvalidInput
from edgewatch.strategies.base import ProposedSignal

Sizing = Literal["kelly", "signal"]


def _decimal(value: float) -> Decimal:
    """A float from a signal as the decimal it was meant to be (6 places)."""
    return Decimal(str(round(value, 6)))


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class Policy:
    """How an account turns signals into orders. Money in dollars; see the module doc."""

    min_confidence: float = 0.5
    sizing: Sizing = "kelly"
    kelly_fraction: Decimal = Decimal("0.25")
    max_market_exposure: Decimal = Decimal(500)
    max_total_exposure: Decimal = Decimal(5_000)
    #: Loss since the start of the UTC day (marked equity) that turns the kill switch on.
    daily_loss_limit: Decimal | None = Decimal(1_000)

    def __post_init__(self) -> None:
        if not 0 <= self.min_confidence <= 1:
            raise InvalidInput("min_confidence must be in [0, 1]")
        if self.sizing not in ("kelly", "signal"):
            raise InvalidInput("sizing must be 'kelly' or 'signal'")
        if not ZERO < self.kelly_fraction <= ONE:
            raise InvalidInput("kelly_fraction must be in (0, 1]")
        if self.max_market_exposure <= 0 or self.max_total_exposure <= 0:
            raise InvalidInput("exposure caps must be positive")
        if self.daily_loss_limit is not None and self.daily_loss_limit <= 0:
            raise InvalidInput("daily_loss_limit must be positive (or unset)")

    def size(self, signal: ProposedSignal, portfolio: Portfolio) -> int | RejectReason:
        """Contracts to buy for ``signal`` (before the executor's caps), or why none."""
        if not math.isfinite(signal.confidence) or signal.confidence < self.min_confidence:
            return "low_confidence"
        if not math.isfinite(signal.edge) or not math.isfinite(signal.limit_price):
            return "no_edge"
        price = signal_limit(signal)
        edge = _decimal(signal.edge)
        if edge <= 0 or not ZERO < price < ONE:
            return "no_edge"
        hinted = hinted_size(signal)
        if self.sizing == "signal":
            wanted = hinted
        else:
            stake = self.stake(
                bankroll=bankroll(portfolio),
                price=price,
                edge=edge,
                confidence=_decimal(signal.confidence),
            )
            wanted = min(_floor(stake / price), hinted)
        if wanted < 1:
            return "too_small"
        position = portfolio.positions.get(signal.market_id)
        in_market = ZERO if position is None else position.cost
        room = min(
            self.max_market_exposure - in_market,
            self.max_total_exposure - exposure(portfolio),
        )
        allowed = min(wanted, _floor(room / price)) if room > 0 else 0
        return allowed if allowed >= 1 else "exposure_limit"

    def stake(
        self, *, bankroll: Decimal, price: Decimal, edge: Decimal, confidence: Decimal
    ) -> Decimal:
        """Dollars to put on a contract at ``price`` with ``edge`` and ``confidence``."""
        return self.kelly_fraction * confidence * edge / (ONE - price) * bankroll


def exposure(portfolio: Portfolio) -> Decimal:
    """What the open positions cost (fees excluded): the most they can lose."""
    return sum((pos.cost for pos in portfolio.open_positions()), ZERO)


def bankroll(portfolio: Portfolio) -> Decimal:
    """Cash plus the cost of open positions: equity without marking anything to market."""
    return portfolio.cash + exposure(portfolio)


def daily_loss_exceeded(policy: Policy, *, day_start_equity: Decimal, equity: Decimal) -> bool:
    """Whether the loss since the start of the day reached the policy's limit."""
    limit = policy.daily_loss_limit
    return limit is not None and day_start_equity - equity >= limit
