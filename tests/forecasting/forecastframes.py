"""Small synthetic sample frames for forecasting tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

START = datetime(2026, 3, 1, tzinfo=UTC)


def synthetic_samples(*, markets: int = 240, per_market: int = 10, seed: int = 0) -> pl.DataFrame:
    """Samples whose outcome follows a shrunk version of the price: a learnable bias."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[object]] = {
        key: []
        for key in (
            "market_id", "tick_ts", "resolved_at", "outcome", "mid", "time_to_close",
            "volatility_20t",
        )
    }  # fmt: skip
    for market in range(markets):
        opened = START + timedelta(minutes=30 * market)
        resolved = opened + timedelta(hours=2)
        logit = rng.normal(0.0, 1.5)
        outcome = int(rng.random() < 1 / (1 + np.exp(-0.6 * logit)))
        for k in range(per_market):
            tick = opened + timedelta(minutes=10 * k)
            rows["market_id"].append(market + 1)
            rows["tick_ts"].append(tick)
            rows["resolved_at"].append(resolved)
            rows["outcome"].append(outcome)
            rows["mid"].append(float(1 / (1 + np.exp(-logit))))
            rows["time_to_close"].append((resolved - tick).total_seconds())
            rows["volatility_20t"].append(float(rng.uniform(0.005, 0.02)))
    return pl.DataFrame(
        rows,
        schema={
            "market_id": pl.Int64,
            "tick_ts": pl.Datetime("us", "UTC"),
            "resolved_at": pl.Datetime("us", "UTC"),
            "outcome": pl.Int8,
            "mid": pl.Float64,
            "time_to_close": pl.Float64,
            "volatility_20t": pl.Float64,
        },
    )
