"""Running a strategy window by window gives exactly the signals of one run over everything."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from strategyframes import MARKETS, T0, frame

from edgewatch.strategies.base import LinkInfo, Strategy
from edgewatch.strategies.cross_venue_arbitrage import CrossVenueArbitrage
from edgewatch.strategies.cross_venue_convergence import CrossVenueConvergence
from edgewatch.strategies.mean_reversion import MeanReversion
from edgewatch.strategies.momentum import Momentum

LINKS = [LinkInfo(1, 2, "same")]


def random_ticks(seed: int, count: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    truth = 1 / (1 + np.exp(-np.cumsum(rng.normal(0, 0.08, count))))
    rows = []
    for market_id in MARKETS:
        jumps = rng.random(count) < 0.03
        mid = np.clip(
            truth + rng.normal(0, 0.01, count) + jumps * rng.normal(0, 0.08, count), 0.03, 0.97
        )
        half = rng.uniform(0.003, 0.012, count)
        for i in range(count):
            rows.append(
                {
                    "market_id": market_id,
                    "tick_ts": T0 + timedelta(seconds=10 * i + market_id),
                    "bid": round(mid[i] - half[i], 3),
                    "ask": round(mid[i] + half[i], 3),
                    "last": None,
                    "volume": float(i),
                    "bid_size": 50.0,
                    "ask_size": 80.0,
                }
            )
    return frame(rows)


@pytest.mark.parametrize(
    "strategy",
    [
        MeanReversion(entry_zscore=1.5, min_edge=0.002),
        Momentum(entry_momentum=1.5, min_edge=0.002),
        CrossVenueConvergence(entry_zscore=1.5, min_edge=0.002),
        CrossVenueArbitrage(min_edge=0.0),
    ],
    ids=lambda s: s.name,
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_window_by_window_equals_one_pass(strategy: Strategy, seed: int) -> None:
    ticks = random_ticks(seed)
    whole = strategy.evaluate(ticks, markets=MARKETS, links=LINKS, since=None)
    assert whole  # the parameters are loose enough to trade
    cuts = [T0 + timedelta(seconds=s) for s in (900, 2000, 2700, 4100)]
    pieces = []
    since = None
    for cut in [*cuts, None]:
        seen = ticks if cut is None else ticks.filter(pl.col("tick_ts") <= cut)
        pieces += strategy.evaluate(seen, markets=MARKETS, links=LINKS, since=since)
        since = cut
    assert sorted(s.dedupe_key for s in pieces) == sorted(s.dedupe_key for s in whole)
    assert sorted(pieces, key=lambda s: s.dedupe_key) == sorted(whole, key=lambda s: s.dedupe_key)
