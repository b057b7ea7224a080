"""Benchmark: the full per-market feature set with polars vs. a plain pandas baseline.

    uv run python bench/features.py                # 10 million ticks across 2,000 markets
    uv run python bench/features.py --ticks 1e6    # a quick run (or EDGEWATCH_BENCH_TICKS=1e6)

Ticks come from the venue simulator (``edgewatch.venues.sim``) when it is importable, otherwise
from a numpy random walk in log-odds with a spread around it. The pandas baseline computes the same
per-market features (mid, spread, returns over 1/5/20 ticks, 20-tick volatility, momentum, mean
and z-score of mid, volume traded and its change, distance from the bounds) the way one would
write them with ``groupby().diff()`` and ``groupby().rolling()``. Both run on the same data in
the same process; a spot check asserts they agree. The last line is
``features_speedup_vs_pandas=<ratio>``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl

from edgewatch.features import market_features
from edgewatch.strategies.base import TICK_SCHEMA

DEFAULT_TICKS = 10_000_000
DEFAULT_MARKETS = 2_000


def simulated_ticks(ticks: int, markets: int) -> pl.DataFrame | None:
    """About ``ticks`` ticks across about ``markets`` markets from the simulator, if present."""
    try:
        from edgewatch.venues.sim.world import EPOCH, SimConfig, SimWorld
    except ImportError:
        return None
    # Each event lives ``steps`` steps and is listed on ~1.7 venues. A window of one lifetime
    # meets about two generations of every slot (~3.4 markets), which between them quote for
    # the whole window on each venue (~1.7 × steps ticks per slot).
    slots = max(1, round(markets / 3.4))
    steps = max(50, round(ticks / (1.7 * slots)))
    config = SimConfig(events=slots, min_life_steps=steps, max_life_steps=steps, step_seconds=5.0)
    world = SimWorld(config)
    start = EPOCH + timedelta(seconds=config.step_seconds * steps * 3)
    frame = world.tick_frame(start, start + timedelta(seconds=config.step_seconds * steps))
    # The simulator's frame is sorted by (venue, market, time): number the markets in that order.
    market_id = pl.struct("venue", "venue_market_id").rle_id().cast(pl.Int64).alias("market_id")
    return frame.with_columns(market_id).select(list(TICK_SCHEMA))


def random_walk_ticks(ticks: int, markets: int, *, seed: int = 11) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    per_market = ticks // markets
    market_id = np.repeat(np.arange(markets, dtype=np.int64), per_market)
    n = market_id.size
    steps = rng.normal(0.0, 0.05, size=n)
    start = rng.normal(0.0, 1.2, size=markets)
    logit = np.cumsum(steps.reshape(markets, per_market), axis=1) + start[:, None]
    mid = 1.0 / (1.0 + np.exp(-logit.ravel()))
    half = rng.uniform(0.002, 0.02, size=n)
    bid = np.clip(np.round(mid - half, 3), 0.001, 0.998)
    ask = np.maximum(np.clip(np.round(mid + half, 3), 0.002, 0.999), bid + 0.001)
    gaps = rng.exponential(5.0, size=n).reshape(markets, per_market)
    seconds = np.cumsum(gaps, axis=1).ravel()
    t0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    volume = np.cumsum(rng.poisson(20.0, size=n).reshape(markets, per_market), axis=1).ravel()
    return pl.DataFrame(
        {
            "market_id": market_id,
            "tick_ts": ((t0 + seconds) * 1e6).astype(np.int64),
            "bid": bid,
            "ask": ask,
            "last": np.round(mid, 3),
            "volume": volume.astype(np.float64),
            "bid_size": rng.integers(10, 2_000, size=n).astype(np.float64),
            "ask_size": rng.integers(10, 2_000, size=n).astype(np.float64),
        }
    ).with_columns(pl.col("tick_ts").cast(pl.Datetime("us", "UTC")))


def close_times(frame: pl.DataFrame) -> pl.DataFrame:
    """A scheduled close an hour after each market's last tick."""
    return frame.group_by("market_id").agg(
        (pl.col("tick_ts").max() + timedelta(hours=1)).alias("close_time")
    )


def pandas_features(frame: pd.DataFrame, close_time: pd.Series) -> pd.DataFrame:
    """The comparable feature set, written the ordinary pandas way."""
    out = pd.DataFrame(index=frame.index)
    both = frame["bid"].notna() & frame["ask"].notna()
    out["mid"] = ((frame["bid"] + frame["ask"]) / 2).where(both, frame["last"])
    out["spread"] = frame["ask"] - frame["bid"]
    keys = frame["market_id"]
    closes = keys.map(close_time)
    out["time_to_close"] = (closes - frame["tick_ts"]).dt.total_seconds()
    mid_by_market = out["mid"].groupby(keys)
    volume_by_market = frame["volume"].groupby(keys)
    out["volume_traded_20t"] = volume_by_market.diff(20)
    recent = out["volume_traded_20t"].clip(lower=0)
    out["volume_change_20t"] = np.log1p(recent) - np.log1p(recent.groupby(keys).shift(20))
    out["distance_from_bound"] = np.minimum(out["mid"], 1 - out["mid"])
    for horizon in (1, 5, 20):
        out[f"return_{horizon}t"] = mid_by_market.diff(horizon)

    def rolling(series: pd.Series, how: str) -> pd.Series:
        result = getattr(series.groupby(keys).rolling(20), how)()
        return result.reset_index(level=0, drop=True)

    out["volatility_20t"] = rolling(out["return_1t"], "std")
    out["momentum_20t"] = out["return_20t"] / (out["volatility_20t"] * math.sqrt(20))
    out["mid_mean_20t"] = rolling(out["mid"], "mean")
    out["mid_zscore_20t"] = (out["mid"] - out["mid_mean_20t"]) / rolling(out["mid"], "std")
    return out


def _requested_ticks(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--ticks",
        type=float,
        default=float(os.environ.get("EDGEWATCH_BENCH_TICKS", DEFAULT_TICKS)),
        help="number of ticks (default 10 million, or EDGEWATCH_BENCH_TICKS)",
    )
    parser.add_argument("--random-walk", action="store_true", help="skip the simulator")
    args = parser.parse_args(argv)
    return int(args.ticks), bool(args.random_walk)


def main(argv: list[str]) -> None:
    ticks, random_walk = _requested_ticks(argv)
    started = time.perf_counter()
    frame = None if random_walk else simulated_ticks(ticks, DEFAULT_MARKETS)
    source = "simulator"
    if frame is None:
        frame, source = random_walk_ticks(ticks, DEFAULT_MARKETS), "random walk"
    markets = frame["market_id"].n_unique()
    print(
        f"data: {frame.height:,} ticks across {markets:,} markets from the {source} "
        f"in {time.perf_counter() - started:.1f} s"
    )

    markets_frame = close_times(frame)
    pandas_frame = pd.DataFrame({name: frame[name].to_numpy() for name in frame.columns})
    pandas_close = pd.Series(
        markets_frame["close_time"].to_numpy(), index=markets_frame["market_id"].to_numpy()
    )
    # Warm both libraries up (thread pools, first allocations) on a slice before timing.
    market_features(frame.head(50_000), markets=markets_frame)
    pandas_features(pandas_frame.head(50_000), pandas_close)

    started = time.perf_counter()
    features = market_features(frame, markets=markets_frame)
    polars_seconds = time.perf_counter() - started
    print(
        f"edgewatch.features (polars): {polars_seconds:.2f} s, "
        f"{frame.height / polars_seconds:,.0f} ticks/s, {features.width - frame.width} features"
    )

    started = time.perf_counter()
    baseline = pandas_features(pandas_frame, pandas_close)
    pandas_seconds = time.perf_counter() - started
    print(
        f"pandas groupby/rolling baseline: {pandas_seconds:.2f} s, "
        f"{frame.height / pandas_seconds:,.0f} ticks/s, {baseline.shape[1]} features"
    )

    for column in ("volatility_20t", "mid_zscore_20t", "volume_change_20t", "momentum_20t"):
        ours = features[column].to_numpy()
        theirs = baseline[column].to_numpy(dtype=np.float64)
        theirs = np.where(np.isinf(theirs), np.nan, theirs)
        agree = np.isclose(ours, theirs, rtol=1e-6, atol=1e-9, equal_nan=True)
        # pandas divides by a rounding-level std where we return null; ignore those rows.
        agree |= np.isnan(ours)
        assert agree.mean() > 0.999, f"{column} disagrees with pandas"
    print(f"features_speedup_vs_pandas={pandas_seconds / polars_seconds:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
