"""One paper account moved forward in time: the live twin of the backtest replay.

Pure: the account's ``Portfolio`` (restored from storage), its ``Policy``, the markets' public
terms and a ``MarketData`` port that answers two questions from the quotes seen *so far* — the
first quote of a market at or after a time (where an order fills), and the last mid at or before a
time (what a position is worth). The database service implements the port; tests can back it with
the backtest's ``QuoteBook``.

``step(now)`` does what the backtest replay does at an evaluation time ``now``, in the same order:

1. settlements (markets resolved at or before ``now``), then fills of pending orders against the
   first quote at or after their arrival, in time order (settlements first at equal times), all
   through the shared ``Executor``. A pending order whose market has no quote yet stays pending; one
   past its expiry with no quote is rejected as ``expired``; one whose market settled, as
   ``market_resolved``;
2. the daily-loss check: equity (cash plus positions at the last mid) against the equity of the
   first step of the UTC day; at or past ``policy.daily_loss_limit`` the kill switch turns on;
   while it is on, orders still pending at the end of a step are cancelled and signals declined;
3. new signals, in (time, dedupe key) order, become orders sent at ``now``: the policy sizes them,
   the executor caps them; each waits for the first quote at or after ``now + latency``.

Because fills, fees, caps and settlement are the executor's, and orders leave at the same times,
a paper account stepped at a backtest's evaluation times over the same ticks trades exactly as the
backtest does (``tests/paper/test_paper_parity.py``).

Signals the policy declines outright (low confidence, no edge, kill switch on) are counted, not
turned into orders; everything else becomes an order, filled or rejected with a reason.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from edgewatch.backtest.execution import Executor
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
    arrival_time,
    taker_price,
)
from edgewatch.backtest.portfolio import Portfolio, Settlement, Trade
from edgewatch.backtest.records import Resolution
from edgewatch.errors import FeeUnknown, InvalidInput
from edgewatch.paper.errors import (
    InsufficientCash,
    KillSwitchOn,
    MarketNotTradable,
    NoQuote,
    NothingToSell,
    PositionLimit,
)
from edgewatch.paper.policy import Policy, daily_loss_exceeded
from edgewatch.strategies.base import MarketInfo, ProposedSignal, Side

OrderStatus = Literal["pending", "filled", "partially_filled", "rejected", "cancelled"]
ORDER_STATUSES: tuple[OrderStatus, ...] = (
    "pending",
    "filled",
    "partially_filled",
    "rejected",
    "cancelled",
)
#: Policy verdicts that mean "do not trade this signal", as opposed to an order that failed.
DECLINED: frozenset[str] = frozenset({"low_confidence", "no_edge", "kill_switch"})

_SETTLE, _FILL, _ORDER = 0, 1, 2


class MarketData(Protocol):
    """Quotes as seen so far; never anything after ``until`` / ``at``."""

    def first_quote(
        self, market_id: int, *, at_or_after: datetime, until: datetime
    ) -> Quote | None:
        """The first quote of the market in ``[at_or_after, until]``, if any."""
        ...

    def last_mids(self, market_ids: Collection[int], *, at: datetime) -> Mapping[int, Decimal]:
        """YES mid of each market's last two-sided quote at or before ``at`` (absent: none)."""
        ...


@dataclass(slots=True, eq=False)
class Ticket:
    """An order and what became of it. ``order_id`` / ``signal_id`` are the storage's handles."""

    order: Order
    source: Literal["signal", "manual"]
    order_id: int | None = None
    signal_id: int | None = None
    status: OrderStatus = "pending"
    reason: str | None = None
    fill: Fill | None = None
    closed_at: datetime | None = None

    def close(self, outcome: Fill | Rejection) -> None:
        if isinstance(outcome, Fill):
            self.fill = outcome
            self.status = "filled" if outcome.quantity == outcome.requested else "partially_filled"
            self.closed_at = outcome.filled_at
        else:
            self.status, self.reason, self.closed_at = "rejected", outcome.reason, outcome.at

    def cancel(self, reason: str, at: datetime) -> None:
        self.status, self.reason, self.closed_at = "cancelled", reason, at


@dataclass(frozen=True, slots=True)
class IncomingSignal:
    signal: ProposedSignal
    signal_id: int


@dataclass(frozen=True, slots=True)
class Valuation:
    """An account marked at the last mid prices. ``unrealised`` is per market."""

    at: datetime
    cash: Decimal
    positions_value: Decimal
    unrealised: Mapping[int, Decimal]

    @property
    def equity(self) -> Decimal:
        return self.cash + self.positions_value


@dataclass(slots=True)
class KillSwitch:
    """The account's kill switch and the day its loss limit is measured from."""

    enabled: bool = False
    reason: str | None = None
    day_start: datetime | None = None
    day_start_equity: Decimal | None = None


@dataclass
class StepReport:
    #: Orders created this step (filled, rejected or still pending).
    created: list[Ticket] = field(default_factory=list)
    #: Orders pending before this step whose status changed.
    changed: list[Ticket] = field(default_factory=list)
    settlements: list[Settlement] = field(default_factory=list)
    #: Round trips closed this step.
    trades: list[Trade] = field(default_factory=list)
    #: Signals declined by the policy, by reason.
    declined: Counter[str] = field(default_factory=Counter)
    #: Set when this step turned the kill switch on.
    tripped: str | None = None
    valuation: Valuation | None = None


class PaperEngine:
    """Steps one account; see the module doc."""

    def __init__(
        self,
        portfolio: Portfolio,
        markets: Mapping[int, MarketInfo],
        *,
        policy: Policy,
        fills: FillConfig,
        max_position: int,
        data: MarketData,
        kill_switch: KillSwitch | None = None,
    ) -> None:
        self.portfolio = portfolio
        self.markets = markets
        self.policy = policy
        self.data = data
        self.kill_switch = kill_switch or KillSwitch()
        self.executor = Executor(portfolio, markets, fills=fills, max_position=max_position)
        self._events: list[tuple[datetime, int, int, Any]] = []
        self._seq = 0

    # --- the event queue, as in the backtest replay -------------------------------------------

    def _push(self, at: datetime, priority: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, priority, self._seq, payload))

    def _drain(self, report: StepReport, pending: list[Ticket]) -> None:
        while self._events:
            _, priority, _, payload = heapq.heappop(self._events)
            if priority == _SETTLE:
                res: Resolution = payload
                settlement = self.executor.settle(res.market_id, res.resolution, res.resolved_at)
                if settlement is not None:
                    report.settlements.append(settlement)
            elif priority == _FILL:
                ticket, quote = payload
                ticket.close(self.executor.execute(ticket.order, quote))
            else:
                ticket = self._submit(payload, report)
                if ticket is not None:
                    report.created.append(ticket)
                    if ticket.status == "pending":
                        pending.append(ticket)

    def _schedule_fill(self, ticket: Ticket, now: datetime) -> bool:
        """Queue the ticket's fill if its quote has been seen; False if it must wait."""
        order = ticket.order
        quote = self.data.first_quote(
            order.market_id, at_or_after=arrival_time(order, self.executor.fill_config), until=now
        )
        if quote is None:
            return False
        self._push(quote.ts, _FILL, (ticket, quote))
        return True

    # --- stepping ---------------------------------------------------------------------------------

    def step(
        self,
        now: datetime,
        *,
        pending: Sequence[Ticket] = (),
        signals: Sequence[IncomingSignal] = (),
        resolutions: Sequence[Resolution] = (),
    ) -> StepReport:
        """Advance the account to ``now``; ``pending`` tickets are updated in place."""
        report = StepReport()
        trades_before = len(self.portfolio.trades)
        waiting = list(pending)
        for res in sorted(resolutions, key=lambda r: (r.resolved_at, r.market_id)):
            if res.resolved_at <= now:
                self._push(res.resolved_at, _SETTLE, res)
        for ticket in waiting:
            self._schedule_fill(ticket, now)
        self._drain(report, [])
        self._check_daily_loss(now, report)
        for item in sorted(signals, key=lambda s: (s.signal.signal_ts, s.signal.dedupe_key)):
            self._push(now, _ORDER, (item, now))
        new_pending: list[Ticket] = []
        self._drain(report, new_pending)
        for ticket in [*waiting, *new_pending]:
            if ticket.status != "pending":
                continue
            order = ticket.order
            if self.kill_switch.enabled:
                ticket.cancel("kill_switch", now)
            elif order.market_id in self.executor.settled:
                ticket.close(self.executor.reject(order, "market_resolved", now))
            elif order.expires_at is not None and order.expires_at < now:
                ticket.close(self.executor.reject(order, "expired", now))
        report.changed = [t for t in waiting if t.status != "pending"]
        report.trades = self.portfolio.trades[trades_before:]
        report.valuation = self.valuation(now)
        return report

    def _check_daily_loss(self, now: datetime, report: StepReport) -> None:
        switch = self.kill_switch
        if self.policy.daily_loss_limit is None:
            return
        equity = self.valuation(now).equity
        if switch.day_start is None or switch.day_start.date() != now.date():
            switch.day_start, switch.day_start_equity = now, equity
            return
        assert switch.day_start_equity is not None
        if switch.enabled:
            return
        if daily_loss_exceeded(
            self.policy, day_start_equity=switch.day_start_equity, equity=equity
        ):
            loss = switch.day_start_equity - equity
            switch.enabled = True
            switch.reason = (
                f"daily loss {loss:.2f} reached the limit {self.policy.daily_loss_limit:.2f} "
                f"at {now.isoformat()}"
            )
            report.tripped = switch.reason

    def _submit(
        self, payload: tuple[IncomingSignal, datetime], report: StepReport
    ) -> Ticket | None:
        item, now = payload
        signal = item.signal
        sized: int | RejectReason = (
            "kill_switch" if self.kill_switch.enabled else self.policy.size(signal, self.portfolio)
        )
        if isinstance(sized, str) and sized in DECLINED:
            report.declined[sized] += 1
            return None
        order = self.executor.signal_order(signal, submitted_at=now, sizer=lambda *_: sized)
        if isinstance(order, Rejection):
            ticket = Ticket(order.order, "signal", signal_id=item.signal_id)
            ticket.close(order)
            return ticket
        ticket = Ticket(order, "signal", signal_id=item.signal_id)
        self._schedule_fill(ticket, now)
        return ticket

    # --- manual orders ----------------------------------------------------------------------------

    def manual_order(
        self,
        *,
        market_id: int,
        side: Side,
        action: Action,
        quantity: int,
        limit_price: Decimal | None,
        latest: Quote,
        now: datetime,
        expires_at: datetime,
    ) -> Ticket:
        """A user's order: checked now against the latest quote, filled on the first quote at or
        after its arrival (like every order). Refusals raise the errors of ``paper.errors``.

        Without a limit, a buy accepts any price and a sale any bid; the cash check then uses the
        latest quote's taker price (with slippage), and a fill at a worse price is capped by the
        cash at the fill.
        """
        if quantity < 1:
            raise InvalidInput("quantity must be at least 1 contract")
        if self.kill_switch.enabled:
            raise KillSwitchOn(
                "the account's kill switch is on"
                + (f" ({self.kill_switch.reason})" if self.kill_switch.reason else "")
                + ": turn it off before placing orders"
            )
        if market_id in self.executor.settled:
            raise MarketNotTradable(f"market {market_id} has resolved")
        market = self.markets[market_id]
        priced = taker_price(
            latest, side=side, action=action, slippage=self.executor.fill_config.slippage
        )
        if priced is None:
            wanted_side = "ask" if (action == "buy") == (side == "yes") else "bid"
            raise NoQuote(f"market {market_id} shows no {wanted_side} to trade against")
        price = priced[0] if limit_price is None else limit_price
        self._check_room(market_id=market_id, side=side, action=action, quantity=quantity)
        allowed = self.executor.capped(market, side, quantity, price, action=action, worst_fee=True)
        if allowed == "fee_unknown":
            raise FeeUnknown(f"market {market_id} has no known fee terms: it cannot be traded")
        if allowed != quantity:
            most = allowed if isinstance(allowed, int) else 0
            raise InsufficientCash(
                f"cash {self.portfolio.cash:.2f} pays for at most {most} contract(s) at {price} "
                f"with fees, not {quantity}"
            )
        order = Order(
            market_id=market_id,
            side=side,
            quantity=quantity,
            limit_price=(ONE if action == "buy" else ZERO) if limit_price is None else limit_price,
            submitted_at=now,
            action=action,
            expires_at=expires_at,
            reference="manual",
        )
        ticket = Ticket(order, "manual")
        if self._schedule_fill(ticket, now):
            self._drain(StepReport(), [])
        return ticket

    def _check_room(self, *, market_id: int, side: Side, action: Action, quantity: int) -> None:
        held_side, held = self.portfolio.held(market_id)
        if action == "sell":
            have = held if held_side == side else 0
            if have < quantity:
                raise NothingToSell(
                    f"the account holds {have} {side.upper()} contract(s) of market {market_id}, "
                    f"cannot sell {quantity}"
                )
            return
        cap = self.executor.max_position
        room = cap - held if held_side in (None, side) else held + cap
        if quantity > room:
            raise PositionLimit(
                f"at most {cap} contracts per market: room for {max(room, 0)} more "
                f"{side.upper()} in market {market_id}"
            )

    # --- valuation --------------------------------------------------------------------------------

    def valuation(self, now: datetime) -> Valuation:
        """Cash plus open positions at their last mid at or before ``now`` (0 if none)."""
        return value_positions(self.portfolio, self.data, now)


def value_positions(portfolio: Portfolio, data: MarketData, now: datetime) -> Valuation:
    """Mark every open position to its last mid, as the backtest marks them at the end."""
    positions = portfolio.open_positions()
    mids = data.last_mids([p.market_id for p in positions], at=now) if positions else {}
    total = ZERO
    unrealised: dict[int, Decimal] = {}
    for pos in positions:
        value = portfolio.mark(pos, mids.get(pos.market_id, ZERO))
        total += value
        unrealised[pos.market_id] = pos.trade_cash + value
    return Valuation(now, portfolio.cash, total, unrealised)
