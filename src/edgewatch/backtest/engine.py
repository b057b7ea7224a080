"""The backtest engine: stored ticks replayed on a simulated clock through a live strategy.

The clock advances in steps of ``config.step``. At each evaluation time ``now`` the strategy gets
exactly what a live signal run at ``now`` would have: the ticks up to ``now`` (with
``config.lookback`` of earlier context), the markets' public terms, the links, and ``since`` =
the previous evaluation time, so every tick is new to exactly one evaluation. Signals become
orders at ``now`` (the order reaches the venue ``latency`` later, see ``fills``); orders,
fills and settlements are then processed in time order up to ``now``.

Outcomes come in a separate resolution table that the strategy never receives: a market's
outcome is applied at its ``resolved_at`` and nowhere else, and only to the ledger. Markets
still held at the end without a resolution in the window are marked to their last mid price and
listed in ``BacktestResult.unresolved``.

Sizing: a signal buys ``floor(size_hint)`` contracts (or what the ``sizer`` passed in says, e.g.
paper trading's policy), capped so that the position in the market stays within ``max_position``
contracts either way and so that cash never goes negative (no leverage). Caps are checked again at
the fill with the actual price. Orders, fills and settlements go through ``execution.Executor``,
the money path paper trading shares.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import numpy as np
import polars as pl

from edgewatch.backtest.book import QuoteBook, from_us, group_by_market, market_codes, to_us
from edgewatch.backtest.execution import Executor, Sizer, size_from_hint
from edgewatch.backtest.fills import ZERO, Order, Rejection, to_price
from edgewatch.backtest.portfolio import Portfolio, Trade
from edgewatch.backtest.records import (
    BacktestConfig,
    BacktestResult,
    MarkedPosition,
    Resolution,
    ScoredSignal,
    resolutions_from_frame,
)
from edgewatch.errors import InvalidInput
from edgewatch.strategies.base import (
    TICK_SCHEMA,
    LinkInfo,
    MarketInfo,
    ProposedSignal,
    Side,
    Strategy,
)

_SETTLE, _FILL, _ORDER = 0, 1, 2


def _micros(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def prepare_ticks(ticks: pl.DataFrame) -> pl.DataFrame:
    """Ticks cast to ``TICK_SCHEMA`` and sorted by time (stable); rows without a time or a
    market are dropped."""
    missing = [name for name in TICK_SCHEMA if name not in ticks.columns]
    if missing:
        raise InvalidInput(f"tick frame lacks columns {missing}")
    frame = ticks.select([pl.col(n).cast(t) for n, t in TICK_SCHEMA.items()])
    frame = frame.filter(pl.col("tick_ts").is_not_null() & pl.col("market_id").is_not_null())
    if not frame.get_column("tick_ts").is_sorted():
        frame = frame.sort("tick_ts", maintain_order=True)
    return frame


def run_backtest(
    strategy: Strategy,
    ticks: pl.DataFrame,
    *,
    markets: Mapping[int, MarketInfo],
    resolutions: Iterable[Resolution] | pl.DataFrame = (),
    links: Sequence[LinkInfo] = (),
    config: BacktestConfig | None = None,
    sizer: Sizer = size_from_hint,
) -> BacktestResult:
    """Replay ``ticks`` (``TICK_SCHEMA``, any order) through ``strategy``; see the module doc.

    ``sizer`` decides how many contracts each signal asks for before the caps (default: the
    signal's ``size_hint``).
    """
    return _Replay(
        strategy, ticks, markets, resolutions, links, config or BacktestConfig(), sizer
    ).run()


#: (time in µs, priority, sequence, payload): settlements, then fills, then orders at a time.
_Event = tuple[int, int, int, Any]


class _Replay:
    def __init__(
        self,
        strategy: Strategy,
        ticks: pl.DataFrame,
        markets: Mapping[int, MarketInfo],
        resolutions: Iterable[Resolution] | pl.DataFrame,
        links: Sequence[LinkInfo],
        config: BacktestConfig,
        sizer: Sizer = size_from_hint,
    ) -> None:
        self.strategy = strategy
        self.config = config
        self.markets = dict(markets)
        self.visible_markets: Mapping[int, MarketInfo] = MappingProxyType(dict(markets))
        self.links = tuple(links)
        frame = prepare_ticks(ticks)
        if frame.is_empty():
            raise InvalidInput("no ticks to replay")
        ts = frame.get_column("tick_ts")
        start = config.start or ts.min()
        end = config.end or ts.max()
        assert isinstance(start, datetime) and isinstance(end, datetime)
        if end < start:
            raise InvalidInput("the window ends before it starts")
        if config.start is not None or config.end is not None:
            frame = frame.filter(pl.col("tick_ts").is_between(start, end))
            if frame.is_empty():
                raise InvalidInput("no ticks inside the window")
        self.start, self.end = start, end
        self.start_us, self.end_us = to_us(start), to_us(end)
        self.frame = frame
        self.ts: np.ndarray[Any, np.dtype[np.int64]] = (
            frame.get_column("tick_ts").dt.epoch("us").to_numpy().astype(np.int64)
        )
        coded = market_codes(frame.get_column("market_id").to_numpy())
        self.codes = coded[0]
        self.book = QuoteBook(frame, coded)
        self.portfolio = Portfolio(config.starting_cash)
        self.executor = Executor(
            self.portfolio, self.markets, fills=config.fills, max_position=config.max_position
        )
        self.sizer = sizer
        if isinstance(resolutions, pl.DataFrame):
            resolutions = resolutions_from_frame(resolutions)
        self.resolutions = {r.market_id: r for r in resolutions}
        self.events: list[_Event] = []
        self.seq = 0
        self.signals: list[tuple[ProposedSignal, float, float | None]] = []
        self.equity_rows: list[tuple[datetime, float, float, float]] = []
        self.dropped_signals = 0
        self.evaluations = 0

    def push(self, at: int, priority: int, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, priority, self.seq, payload))

    def run(self) -> BacktestResult:
        for res in self.resolutions.values():
            if res.market_id in self.markets and to_us(res.resolved_at) <= self.end_us:
                self.push(max(to_us(res.resolved_at), self.start_us), _SETTLE, res)
        step_us = _micros(self.config.step)
        lookback_us = _micros(self.config.lookback)
        since: int | None = None
        now = min(self.start_us + step_us, self.end_us)
        while True:
            self.evaluate(since, now, lookback_us)
            self.drain(now)
            self.record_equity(now)
            if now >= self.end_us:
                break
            since, now = now, min(now + step_us, self.end_us)
        # Every quote is inside the window, so no order or fill can still be pending here.
        assert not self.events
        return self.result()

    def evaluate(self, since: int | None, now: int, lookback_us: int) -> None:
        new_lo = 0 if since is None else int(np.searchsorted(self.ts, since, "right"))
        hi = int(np.searchsorted(self.ts, now, "right"))
        if hi <= new_lo:
            return
        lo = 0 if since is None else int(np.searchsorted(self.ts, since - lookback_us, "right"))
        # TICK_SCHEMA order, (market_id, tick_ts): the slice is in time order already, so a stable
        # grouping by market (a radix sort of small codes) is all it takes.
        chunk = self.frame.slice(lo, hi - lo)
        chunk = chunk[group_by_market(self.codes[lo:hi])]
        self.evaluations += 1
        signals = self.strategy.evaluate(
            chunk,
            markets=self.visible_markets,
            links=self.links,
            since=None if since is None else from_us(since),
        )
        accepted: list[tuple[int, ProposedSignal]] = []
        for signal in signals:
            at = to_us(signal.signal_ts)
            if (
                at <= (self.start_us - 1 if since is None else since)
                or at > now
                or signal.market_id not in self.markets
            ):
                self.dropped_signals += 1
                continue
            accepted.append((at, signal))
        if not accepted:
            return
        accepted.sort(key=lambda item: (item[0], item[1].dedupe_key))
        # Quote lookups depend only on time, never on the ledger: do them all at once.
        ids = np.fromiter((s.market_id for _, s in accepted), np.int64, len(accepted))
        times = np.fromiter((at for at, _ in accepted), np.int64, len(accepted))
        mids = self.book.mids(self.book.rows_at_or_before(ids, times))
        sent = times if self.config.order_time == "signal" else np.full_like(times, now)
        arrival = sent + _micros(self.config.fills.latency)
        rows = self.book.rows_at_or_after(ids, arrival)
        for (_, signal), mid, at, row in zip(accepted, mids, sent, rows, strict=True):
            self.score(signal, float(mid))
            if signal.confidence >= self.config.min_confidence:
                self.push(int(at), _ORDER, (signal, int(row)))

    def score(self, signal: ProposedSignal, mid: float) -> None:
        given = signal.inputs.get("probability")
        raw = float(given) if isinstance(given, int | float) else signal.limit_price + signal.edge
        probability = min(max(raw, 0.0), 1.0)
        market = None if math.isnan(mid) else (mid if signal.side == "yes" else 1.0 - mid)
        self.signals.append((signal, probability, market))

    def drain(self, now: int) -> None:
        events = self.events
        while events and events[0][0] <= now:
            at, priority, _, payload = heapq.heappop(events)
            if priority == _SETTLE:
                self.settle(payload)
            elif priority == _ORDER:
                signal, row = payload
                self.submit(signal, row, at)
            else:
                self.execute(*payload)

    def settle(self, res: Resolution) -> None:
        self.executor.settle(res.market_id, res.resolution, res.resolved_at)

    def submit(self, signal: ProposedSignal, row: int, at: int) -> None:
        """Size the order for ``signal`` now; it fills later against quote ``row`` (−1: none)."""
        order = self.executor.signal_order(signal, submitted_at=from_us(at), sizer=self.sizer)
        if isinstance(order, Rejection):
            return
        if row < 0:
            self.executor.reject(order, "no_quote", order.submitted_at)
        else:
            self.push(self.book.time_us(row), _FILL, (order, row))

    def execute(self, order: Order, row: int) -> None:
        self.executor.execute(order, self.book.quote(row))

    def marks(self, now: int) -> tuple[Decimal, list[tuple[int, Side, int, Decimal]]]:
        """Exact value of every open position at its last mid, for the end of the run."""
        positions = self.portfolio.open_positions()
        if not positions:
            return ZERO, []
        mids = self.book.last_mids([p.market_id for p in positions], now)
        total = ZERO
        marked: list[tuple[int, Side, int, Decimal]] = []
        for pos, mid in zip(positions, mids, strict=True):
            yes_mid = to_price(float(mid)) if np.isfinite(mid) else ZERO
            value = self.portfolio.mark(pos, yes_mid)
            total += value
            assert pos.side is not None
            marked.append((pos.market_id, pos.side, pos.held, value))
        return total, marked

    def record_equity(self, now: int) -> None:
        # The equity curve feeds float statistics: value positions in floats, all at once.
        positions = self.portfolio.open_positions()
        value = 0.0
        if positions:
            mids = self.book.last_mids([p.market_id for p in positions], now)
            signed = np.fromiter((p.contracts for p in positions), np.float64, len(positions))
            prices = np.where(signed > 0, mids, 1.0 - mids)
            value = float(np.nansum(np.abs(signed) * prices))
        cash = float(self.portfolio.cash)
        self.equity_rows.append((from_us(now), cash + value, cash, value))

    def result(self) -> BacktestResult:
        value, marked = self.marks(self.end_us)
        unresolved: list[MarkedPosition] = []
        trades = list(self.portfolio.trades)
        for market_id, side, held, worth in marked:
            pos = self.portfolio.positions[market_id]
            assert pos.opened_at is not None
            unresolved.append(MarkedPosition(market_id, side, held, worth / held, worth, self.end))
            pnl = pos.trade_cash + worth
            trades.append(
                Trade(
                    market_id, side, pos.opened_at, self.end, pnl, pos.trade_fees, False, "marked"
                )
            )
        warnings = self.config.warnings()
        if unresolved:
            warnings.append(
                f"{len(unresolved)} position(s) have no resolution in the window and are marked to "
                "the last mid price, not settled"
            )
        if self.dropped_signals:
            warnings.append(
                f"{self.dropped_signals} signal(s) dated outside (since, evaluation time] or for "
                "unknown markets were dropped"
            )
        unknown_fees = sum(1 for r in self.executor.rejections if r.reason == "fee_unknown")
        if unknown_fees:
            warnings.append(
                f"{unknown_fees} order(s) not filled because the market's fee terms are unknown"
            )
        return BacktestResult(
            strategy=self.strategy.name,
            strategy_version=self.strategy.version,
            config=self.config,
            start=self.start,
            end=self.end,
            starting_cash=self.portfolio.starting_cash,
            final_cash=self.portfolio.cash,
            final_equity=self.portfolio.cash + value,
            fees_paid=self.portfolio.fees_paid,
            turnover=self.portfolio.turnover,
            fills=tuple(self.executor.fills),
            rejections=tuple(self.executor.rejections),
            settlements=tuple(self.portfolio.settlements),
            trades=tuple(sorted(trades, key=lambda t: (t.closed_at, t.market_id))),
            unresolved=tuple(unresolved),
            signals=tuple(self.scored()),
            equity=pl.DataFrame(
                self.equity_rows,
                schema={
                    "ts": pl.Datetime("us", "UTC"),
                    "equity": pl.Float64,
                    "cash": pl.Float64,
                    "exposure": pl.Float64,
                },
                orient="row",
            ),
            warnings=tuple(warnings),
            ticks=len(self.frame),
            evaluations=self.evaluations,
        )

    def scored(self) -> list[ScoredSignal]:
        out: list[ScoredSignal] = []
        for signal, probability, market in self.signals:
            res = self.resolutions.get(signal.market_id)
            outcome: int | None = None
            if (
                res is not None
                and res.resolution != "void"
                and to_us(res.resolved_at) <= self.end_us
            ):
                outcome = int(res.resolution == signal.side)
            out.append(ScoredSignal(signal, probability, market, outcome))
        return out
