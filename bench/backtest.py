"""Backtest throughput: simulated ticks through mean reversion, engine vs a plain Python loop.

    uv run python bench/backtest.py              # 10 million ticks (about 3 minutes on 2 cores)
    uv run python bench/backtest.py --ticks 500000

Data: the simulator (``edgewatch.venues.sim.SimWorld``; ~2,000 markets open at any time, a
quote per market every 5 s) with its corrupt quotes dropped as ingest would, or with
``--data random`` a numpy random walk (2,000 markets, bid/ask around a drifting mid). Generating
the data is not timed.

Timed: (1) ``run_backtest`` end to end — sorting, indexing, every evaluation of the strategy,
sizing, fills, fees, settlement — over all ticks; (2) a straightforward event loop over the first
``--python-ticks`` ticks (per tick: update a rolling mean, decide, fill at ask / 1 − bid, fee),
scaled to ticks per second. The strategy is the small pure one below (``--strategy bench``) or
``edgewatch.strategies.mean_reversion`` (``--strategy library``).

The last two lines are ``backtest_ticks_per_s=<n>`` and ``backtest_speedup_vs_python_loop=<r>``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl

from edgewatch.backtest import BacktestConfig, Resolution, compute_metrics, run_backtest
from edgewatch.backtest.book import from_us
from edgewatch.backtest.fills import FillConfig
from edgewatch.strategies.base import TICK_SCHEMA, LinkInfo, MarketInfo, ProposedSignal, Strategy
from edgewatch.venues.fees import market_fee

WINDOW = 20
ENTRY_Z = 3.0
REVERSION = 0.5
MIN_EDGE = 0.01
#: Expected slippage: the strategy wants its edge to survive paying it.
SLIPPAGE_ALLOWANCE = 0.01
SIZE = 10.0


@dataclass(frozen=True, slots=True)
class BenchMeanReversion:
    """Fade a mid ``entry_z`` rolling standard deviations away from its ``window``-tick mean.

    Vectorised: a few numpy passes per evaluation; Python only builds the few signals. A signal is
    sent when the z-score crosses the threshold (not on every tick beyond it) and the expected
    edge beats ``min_edge`` plus the slippage it expects to pay. Its limit is the expected fair
    value less ``min_edge``: the worst price still worth paying.
    """

    window: int = WINDOW
    entry_z: float = ENTRY_Z
    reversion: float = REVERSION
    min_edge: float = MIN_EDGE
    slippage_allowance: float = SLIPPAGE_ALLOWANCE
    size: float = SIZE
    ttl_seconds: float = 900.0

    name = "bench_mean_reversion"
    version = "1"

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        n, w = len(ticks), self.window
        if n == 0:
            return []
        market = ticks.get_column("market_id").to_numpy()
        bid = ticks.get_column("bid").to_numpy()
        ask = ticks.get_column("ask").to_numpy()
        stamp = ticks.get_column("tick_ts").dt.epoch("us").to_numpy()
        mid = (bid + ask) / 2
        # Rolling sums from prefix sums, restarted at each market (rows are grouped by market).
        index = np.arange(n)
        first = np.flatnonzero(np.r_[True, market[1:] != market[:-1]])
        position = index - np.repeat(first, np.diff(np.r_[first, n]))
        s1 = np.r_[0.0, np.cumsum(mid)]
        s2 = np.r_[0.0, np.cumsum(mid * mid)]
        lo = np.maximum(index - w + 1, 0)
        mean = (s1[index + 1] - s1[lo]) / w
        var = ((s2[index + 1] - s2[lo]) - w * mean * mean) / (w - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where((position >= w - 1) & (var > 1e-12), (mid - mean) / np.sqrt(var), np.nan)
        before = np.r_[np.nan, z[:-1]]
        before[position == 0] = np.nan
        low = (z <= -self.entry_z) & (before > -self.entry_z)
        high = (z >= self.entry_z) & (before < self.entry_z)
        fresh = np.ones(n, bool) if since is None else stamp > int(since.timestamp() * 1e6)
        fair = mid + self.reversion * (mean - mid)
        signals = []
        for i in np.flatnonzero(fresh & (low | high)):
            if low[i]:
                side, limit, edge = "yes", fair[i] - self.min_edge, fair[i] - ask[i]
            else:
                side, limit, edge = "no", (1 - fair[i]) - self.min_edge, bid[i] - fair[i]
            if edge <= self.min_edge + self.slippage_allowance or not 0 < limit < 1:
                continue
            ts = from_us(int(stamp[i]))
            signals.append(
                ProposedSignal(
                    signal_ts=ts,
                    market_id=int(market[i]),
                    side=side,  # type: ignore[arg-type]
                    limit_price=round(float(limit), 6),
                    size_hint=self.size,
                    edge=round(float(edge), 6),
                    confidence=0.5,
                    expires_at=ts + timedelta(seconds=self.ttl_seconds),
                    dedupe_key=f"{self.name}:{market[i]}:{side}:{stamp[i]}",
                )
            )
        return signals


# -- data --------------------------------------------------------------------------------------


def sim_data(n: int, seed: int) -> tuple[pl.DataFrame, dict[int, MarketInfo], list[Resolution]]:
    from edgewatch.venues.sim.world import EPOCH, KALSHI, SimConfig, SimWorld

    world = SimWorld(SimConfig(seed=seed, events=1200))
    parts: list[pl.DataFrame] = []
    total, begin, steps = 0, EPOCH, 0
    while total < n:
        part = world.tick_frame(begin, begin + timedelta(seconds=world.config.step_seconds * 500))
        # What ingest does at the venue boundary: corrupt (crossed, NaN) quotes are never stored.
        part = part.filter(
            pl.col("bid").is_finite() & pl.col("ask").is_finite() & (pl.col("bid") < pl.col("ask"))
        )
        parts.append(part)
        total += len(part)
        begin += timedelta(seconds=world.config.step_seconds * 500)
        steps += 500
    raw = pl.concat(parts).sort("tick_ts", maintain_order=True).head(n)
    keys = raw.select("venue", "venue_market_id").unique(maintain_order=True)
    keys = keys.with_row_index("market_id", offset=1)
    keys = keys.with_columns(pl.col("market_id").cast(pl.Int64))
    ticks = raw.join(keys, on=["venue", "venue_market_id"], how="left").select(list(TICK_SCHEMA))
    rows = keys.select("market_id", "venue", "venue_market_id").iter_rows()
    ids = {(venue, name): int(market_id) for market_id, venue, name in rows}
    markets: dict[int, MarketInfo] = {}
    resolutions: list[Resolution] = []
    last = ticks.get_column("tick_ts").max()
    assert isinstance(last, datetime)
    for record in world.markets(last, keep_closed_steps=steps + world.config.max_life_steps):
        market_id = ids.get((record.venue, record.venue_market_id))
        if market_id is None:
            continue
        markets[market_id] = MarketInfo(
            market_id=market_id,
            venue="kalshi" if record.venue == KALSHI else "polymarket",
            fee_schedule=record.fee_schedule,
            fee_multiplier=record.fee_multiplier,
            fee_rate=record.fee_rate,
            close_time=record.close_time,
        )
        if record.resolution is not None and record.resolved_at is not None:
            resolutions.append(Resolution(market_id, record.resolution, record.resolved_at))
    return ticks, markets, resolutions


def random_data(n: int, seed: int) -> tuple[pl.DataFrame, dict[int, MarketInfo], list[Resolution]]:
    rng = np.random.default_rng(seed)
    n_markets = 2000
    start = datetime(2026, 1, 1, tzinfo=UTC)
    span_us = n // n_markets * 5_000_000  # a quote per market every 5 s on average
    ts = np.sort(rng.integers(0, span_us, n))
    market = rng.integers(1, n_markets + 1, n)
    order = np.argsort(market, kind="stable")
    steps = rng.normal(0, 0.08, n)
    walk = np.empty(n)
    walk[order] = np.cumsum(steps[order])
    first = np.r_[0, np.flatnonzero(np.diff(market[order])) + 1]
    group_start = np.zeros(n, dtype=np.int64)
    group_start[first] = first
    group_start = np.maximum.accumulate(group_start)
    walk[order] -= (np.cumsum(steps[order]) - steps[order])[group_start]
    drift = rng.normal(0, 1, n_markets + 1)[market]
    # A drifting true mid, quoted with noise: the kind of wiggle mean reversion fades.
    mid = np.clip(1 / (1 + np.exp(-(drift + walk * 0.2))) + rng.normal(0, 0.01, n), 0.02, 0.98)
    half = rng.choice([0.005, 0.01, 0.015], n)
    bid = np.clip(np.round(mid - half, 2), 0.01, 0.97)
    ask = np.clip(np.maximum(np.round(mid + half, 2), bid + 0.01), 0.02, 0.99)
    ticks = pl.DataFrame(
        {
            "market_id": market.astype(np.int64),
            "tick_ts": pl.Series(ts + int(start.timestamp() * 1e6)).cast(pl.Datetime("us", "UTC")),
            "bid": bid,
            "ask": ask,
            "last": np.round(mid, 2),
            "volume": rng.integers(0, 100, n).astype(float),
            "bid_size": rng.integers(1, 2000, n).astype(float),
            "ask_size": rng.integers(1, 2000, n).astype(float),
        }
    )
    markets = {
        m: MarketInfo(m, "kalshi", "kalshi")
        if m % 2
        else MarketInfo(m, "polymarket", "polymarket", fee_rate=Decimal("0.02"))
        for m in range(1, n_markets + 1)
    }
    end = start + timedelta(microseconds=span_us)
    resolutions = [
        Resolution(m, "yes" if rng.random() < 0.5 else "no", start + (end - start) * rng.random())
        for m in range(1, n_markets + 1)
        if rng.random() < 0.5
    ]
    return ticks, markets, resolutions


# -- the plain loop ----------------------------------------------------------------------------


def python_loop(ticks: pl.DataFrame, markets: Mapping[int, MarketInfo]) -> tuple[int, Decimal]:
    """One tick at a time: rolling mean and sd, the same crossing rule, taker fill, fee."""
    windows: dict[int, deque[float]] = {}
    sums: dict[int, list[float]] = {}
    last_z: dict[int, float | None] = {}
    held: dict[int, int] = {}
    cash = Decimal(10_000)
    fills = 0
    slip = Decimal("0.01")
    for market_id, _ts, bid, ask, bid_size, ask_size in ticks.select(
        "market_id", "tick_ts", "bid", "ask", "bid_size", "ask_size"
    ).iter_rows():
        mid = (bid + ask) / 2
        window = windows.setdefault(market_id, deque())
        total = sums.setdefault(market_id, [0.0, 0.0])
        window.append(mid)
        total[0] += mid
        total[1] += mid * mid
        if len(window) > WINDOW:
            old = window.popleft()
            total[0] -= old
            total[1] -= old * old
        z = None
        if len(window) == WINDOW:
            mean = total[0] / WINDOW
            var = (total[1] - WINDOW * mean * mean) / (WINDOW - 1)
            if var > 1e-12:
                z = (mid - mean) / math.sqrt(var)
        before = last_z.get(market_id)
        last_z[market_id] = z
        if z is None or before is None:
            continue
        fair = mid + REVERSION * (total[0] / WINDOW - mid)
        if z <= -ENTRY_Z < before and fair - ask > MIN_EDGE + SLIPPAGE_ALLOWANCE:
            price, size, side = Decimal(str(ask)) + slip, ask_size, 1
            limit = Decimal(str(round(fair - MIN_EDGE, 6)))
        elif z >= ENTRY_Z > before and bid - fair > MIN_EDGE + SLIPPAGE_ALLOWANCE:
            price, size, side = 1 - Decimal(str(bid)) + slip, bid_size, -1
            limit = Decimal(str(round(1 - fair - MIN_EDGE, 6)))
        else:
            continue
        quantity = min(int(SIZE), int(size))
        if price > limit or quantity <= 0:
            continue
        info = markets[market_id]
        fee = market_fee(
            fee_schedule=info.fee_schedule,
            fee_multiplier=info.fee_multiplier,
            fee_rate=info.fee_rate,
            price=price,
            contracts=quantity,
        )
        cash -= price * quantity + fee
        position = held.get(market_id, 0)
        if position * side < 0:
            cash += min(quantity, abs(position))
        held[market_id] = position + side * quantity
        fills += 1
    return fills, cash


# -- main --------------------------------------------------------------------------------------


def library_strategy() -> Strategy:
    from edgewatch.strategies.mean_reversion import MeanReversion

    strategy: Strategy = MeanReversion()
    return strategy


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=10_000_000)
    parser.add_argument("--python-ticks", type=int, default=1_000_000)
    parser.add_argument("--data", choices=["sim", "random"], default="sim")
    parser.add_argument("--strategy", choices=["bench", "library"], default="bench")
    parser.add_argument("--step-seconds", type=float, default=300.0)
    parser.add_argument("--lookback-seconds", type=float, default=150.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    began = time.perf_counter()
    make = sim_data if args.data == "sim" else random_data
    ticks, markets, resolutions = make(args.ticks, args.seed)
    print(
        f"data: {len(ticks):,} ticks, {ticks['market_id'].n_unique():,} markets, "
        f"{len(resolutions):,} resolutions ({args.data}, generated in "
        f"{time.perf_counter() - began:.1f} s, untimed)"
    )
    strategy: Strategy = BenchMeanReversion() if args.strategy == "bench" else library_strategy()
    config = BacktestConfig(
        starting_cash=Decimal(100_000),
        max_position=100,
        step=timedelta(seconds=args.step_seconds),
        lookback=timedelta(seconds=args.lookback_seconds),
        fills=FillConfig(),
    )
    t = time.perf_counter()
    result = run_backtest(strategy, ticks, markets=markets, resolutions=resolutions, config=config)
    engine_seconds = time.perf_counter() - t
    engine_rate = len(ticks) / engine_seconds
    metrics = compute_metrics(result, seed=args.seed)
    reasons: dict[str, int] = {}
    for rejection in result.rejections:
        reasons[rejection.reason] = reasons.get(rejection.reason, 0) + 1
    cent = Decimal("0.01")
    print(
        f"engine: {strategy.name}, {result.evaluations:,} evaluations, "
        f"{len(result.signals):,} signals, {len(result.fills):,} fills, rejections {reasons}, "
        f"{len(result.settlements):,} settlements"
    )
    print(
        f"engine: P&L {metrics.pnl.quantize(cent)}, fees {metrics.fees_paid.quantize(cent)}, "
        f"{metrics.trades:,} trades, win rate {metrics.win_rate:.3f}, "
        f"Brier {metrics.brier:.4f} vs market {metrics.brier_market:.4f}, "
        f"{metrics.unresolved_positions} unresolved"
    )
    print(f"engine: {len(ticks):,} ticks in {engine_seconds:.2f} s = {engine_rate:,.0f} ticks/s")

    subset = ticks.sort("tick_ts", maintain_order=True).head(args.python_ticks)
    t = time.perf_counter()
    fills, _ = python_loop(subset, markets)
    loop_seconds = time.perf_counter() - t
    loop_rate = len(subset) / loop_seconds
    print(
        f"python loop: {len(subset):,} ticks in {loop_seconds:.2f} s = {loop_rate:,.0f} ticks/s "
        f"({fills:,} fills; scaled to per second)"
    )
    print(f"total wall time {time.perf_counter() - began:.1f} s")
    print(f"backtest_ticks_per_s={engine_rate:.0f}")
    print(f"backtest_speedup_vs_python_loop={engine_rate / loop_rate:.2f}")


if __name__ == "__main__":
    main()
