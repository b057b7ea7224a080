"""Cash, positions and settlement for one account, in exact decimal money.

A position in a binary market is a whole number of YES contracts or of NO contracts, never both:
one YES and one NO together pay exactly $1 whatever happens, so buying the side opposite to the
one held closes that many contracts and pays $1 per pair at once. Kalshi nets positions this way
itself; on Polymarket the same pair is merged back into $1. Selling the held side at the bid is
also supported (paper trading's manual orders).

Settlement (no settlement fee on either venue for a yes/no determination):

* ``yes``: $1 per YES contract held, nothing for NO; ``no``: the reverse.
* ``void``, Kalshi: the cost of the contracts still held is refunded (rounded down to the cent);
  trading fees already paid are not. *Assumption*: Kalshi's public docs do not state a void rule;
  this is the conservative reading of a cancelled contract.
* ``void``, Polymarket: the market resolves 50/50 on chain, so every contract held, YES or NO,
  redeems for $0.50; fees are not refunded.
* ``void``, any other venue: as Kalshi.

Each run of a position from flat back to flat is one *trade* (a round trip); its P&L is every cash
flow in between, fees and settlement included. A fill that flips a position through zero closes
one trade and opens the next; its price and fee are split between them pro rata.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from edgewatch.backtest.fills import ONE, ZERO, Fill
from edgewatch.errors import InvalidInput
from edgewatch.strategies.base import MarketInfo, Side

Outcome = Literal["yes", "no", "void"]
CENT = Decimal("0.01")
HALF = Decimal("0.5")
FEE_SHARE = Decimal("1e-10")


@dataclass(frozen=True, slots=True)
class Settlement:
    market_id: int
    resolution: Outcome
    settled_at: datetime
    side: Side | None
    contracts: int
    payout: Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    """One round trip in one market. ``closed`` is False for a position still open at the end."""

    market_id: int
    side: Side
    opened_at: datetime
    closed_at: datetime
    pnl: Decimal
    fees: Decimal
    closed: bool
    how: Literal["netted", "sold", "settled", "marked"]


@dataclass(slots=True)
class Position:
    market_id: int
    #: Positive: YES contracts held; negative: NO contracts held.
    contracts: int = 0
    #: What was paid for the contracts still held, fees excluded.
    cost: Decimal = ZERO
    #: Cash flows of the current round trip so far, and the fees among them.
    trade_cash: Decimal = ZERO
    trade_fees: Decimal = ZERO
    opened_at: datetime | None = None

    @property
    def side(self) -> Side | None:
        if self.contracts == 0:
            return None
        return "yes" if self.contracts > 0 else "no"

    @property
    def held(self) -> int:
        return abs(self.contracts)


class Portfolio:
    """Cash and positions; apply fills and settlements in time order."""

    def __init__(self, starting_cash: Decimal) -> None:
        if starting_cash < 0:
            raise InvalidInput("starting cash must not be negative")
        self.starting_cash = starting_cash
        self.cash = starting_cash
        self.positions: dict[int, Position] = {}
        self.trades: list[Trade] = []
        self.settlements: list[Settlement] = []
        self.fees_paid = ZERO
        self.turnover = ZERO
        self._open: dict[int, Position] = {}

    @classmethod
    def restore(
        cls,
        *,
        starting_cash: Decimal,
        cash: Decimal,
        fees_paid: Decimal,
        turnover: Decimal,
        positions: Iterable[Position],
    ) -> Portfolio:
        """A portfolio as it was left, e.g. a paper account read back from the database.

        Open positions are taken in the order given (give them in the order they were opened).
        Closed round trips and settlements are not carried over: ``trades`` and ``settlements``
        start empty and collect only what happens from here on.
        """
        portfolio = cls(starting_cash)
        portfolio.cash = cash
        portfolio.fees_paid = fees_paid
        portfolio.turnover = turnover
        for pos in positions:
            portfolio.positions[pos.market_id] = pos
            portfolio._track(pos)
        return portfolio

    def position(self, market_id: int) -> Position:
        found = self.positions.get(market_id)
        if found is None:
            found = self.positions[market_id] = Position(market_id)
        return found

    def held(self, market_id: int) -> tuple[Side | None, int]:
        found = self.positions.get(market_id)
        return (None, 0) if found is None else (found.side, found.held)

    def open_positions(self) -> list[Position]:
        """Positions holding contracts, in the order they were opened."""
        return list(self._open.values())

    def _track(self, pos: Position) -> None:
        if pos.contracts:
            self._open.setdefault(pos.market_id, pos)
        else:
            self._open.pop(pos.market_id, None)

    def cash_needed(
        self, *, market_id: int, side: Side, quantity: int, price: Decimal, fee: Decimal
    ) -> Decimal:
        """Net cash a buy takes now: price and fee, less $1 per pair it closes."""
        held_side, held = self.held(market_id)
        pairs = min(quantity, held) if held_side is not None and held_side != side else 0
        return price * quantity + fee - pairs

    def apply(self, fill: Fill) -> None:
        """Book a fill: cash, fees, position, and the trades it closes."""
        pos = self.position(fill.market_id)
        self.fees_paid += fill.fee
        self.turnover += fill.notional
        self.cash += fill.cash_flow
        if fill.action == "sell":
            self._sell(pos, fill)
        elif pos.side is None or pos.side == fill.side:
            self._add(pos, fill, fill.quantity, fill.cash_flow, fill.fee)
        else:
            self._net(pos, fill)
        self._track(pos)

    def _add(self, pos: Position, fill: Fill, quantity: int, cash: Decimal, fee: Decimal) -> None:
        if pos.contracts == 0:
            pos.opened_at = fill.filled_at
            pos.trade_cash = ZERO
            pos.trade_fees = ZERO
        pos.contracts += quantity if fill.side == "yes" else -quantity
        pos.cost += fill.price * quantity
        pos.trade_cash += cash
        pos.trade_fees += fee

    def _reduce(self, pos: Position, quantity: int, cash: Decimal, fee: Decimal) -> None:
        pos.cost -= (pos.cost * quantity / pos.held).quantize(FEE_SHARE)
        pos.contracts += -quantity if pos.contracts > 0 else quantity
        pos.trade_cash += cash
        pos.trade_fees += fee

    def _net(self, pos: Position, fill: Fill) -> None:
        pairs = min(fill.quantity, pos.held)
        held_side = pos.side
        assert held_side is not None
        self.cash += pairs  # each YES + NO pair is worth exactly $1, paid at once
        rest = fill.quantity - pairs
        # The fee is split pro rata, to 1e-10 so that the two parts add up exactly.
        closing_fee = (fill.fee * pairs / fill.quantity).quantize(FEE_SHARE)
        closing_cash = pairs - fill.price * pairs - closing_fee
        self._reduce(pos, pairs, closing_cash, closing_fee)
        if pos.contracts == 0:
            self._close(pos, held_side, fill.filled_at, "netted")
        if rest:
            opening_fee = fill.fee - closing_fee
            self._add(pos, fill, rest, -fill.price * rest - opening_fee, opening_fee)

    def _sell(self, pos: Position, fill: Fill) -> None:
        if pos.side != fill.side or fill.quantity > pos.held:
            raise InvalidInput(f"cannot sell {fill.quantity} {fill.side} contracts not held")
        self._reduce(pos, fill.quantity, fill.cash_flow, fill.fee)
        if pos.contracts == 0:
            self._close(pos, fill.side, fill.filled_at, "sold")

    def _close(
        self, pos: Position, side: Side, at: datetime, how: Literal["netted", "sold", "settled"]
    ) -> None:
        assert pos.opened_at is not None
        trade = Trade(
            pos.market_id, side, pos.opened_at, at, pos.trade_cash, pos.trade_fees, True, how
        )
        self.trades.append(trade)
        pos.contracts = 0
        pos.cost = ZERO
        pos.trade_cash = ZERO
        pos.trade_fees = ZERO
        pos.opened_at = None

    def settle(self, market: MarketInfo, resolution: Outcome, at: datetime) -> Settlement | None:
        """Pay out a resolved market; ``None`` if nothing was held."""
        pos = self.positions.get(market.market_id)
        if pos is None or pos.contracts == 0:
            return None
        side = pos.side
        assert side is not None
        held = pos.held
        if resolution == "void":
            payout = void_payout(market, contracts=held, cost=pos.cost)
        else:
            payout = Decimal(held) if resolution == side else ZERO
        self.cash += payout
        pos.trade_cash += payout
        settlement = Settlement(market.market_id, resolution, at, side, held, payout)
        self.settlements.append(settlement)
        self._close(pos, side, at, "settled")
        self._track(pos)
        return settlement

    def mark(self, pos: Position, yes_mid: Decimal) -> Decimal:
        """Value of a held position at a YES mid price."""
        price = yes_mid if pos.contracts > 0 else ONE - yes_mid
        return price * pos.held


def void_payout(market: MarketInfo, *, contracts: int, cost: Decimal) -> Decimal:
    """What a void market pays back for ``contracts`` held that cost ``cost`` (fees excluded)."""
    if market.fee_schedule == "polymarket" or market.venue == "polymarket":
        return HALF * contracts
    return cost.quantize(CENT, rounding=ROUND_DOWN)
