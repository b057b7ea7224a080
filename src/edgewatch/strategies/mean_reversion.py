"""Mean reversion on a single market: fade a price that strays far from its recent mean.

When the mid sits ``entry_zscore`` standard deviations or more below its 20-tick mean
(``mid_zscore_20t``), buy YES; that far above, buy NO. The strategy expects a share
``reversion`` of the distance back to the mean to be recovered before the signal expires, so it
values YES at

    fair = mid + reversion × (mid_mean_20t − mid)

and the edge after fees is that value minus what the contract costs (see ``single_market``).
This is a bet, not an arbitrage: ``reversion`` is an assumption to calibrate in backtests.

Confidence = (1 − exp(−edge / edge_scale)) × strength, where strength is 0.5 at the threshold
and 1 at twice it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from edgewatch.strategies import emission
from edgewatch.strategies.base import LinkInfo, MarketInfo, ProposedSignal
from edgewatch.strategies.single_market import (
    SingleMarketRule,
    evaluate_single_market,
    sizing_of,
    strength_past,
)


@dataclass(frozen=True, slots=True)
class MeanReversion:
    entry_zscore: float = 2.0
    reversion: float = 0.5
    min_edge: float = 0.01
    max_spread: float = 0.05
    ttl_seconds: float = 900.0
    edge_scale: float = 0.02
    default_size: float = 100.0
    max_size: float = 1_000.0

    name = "mean_reversion"
    version = "1"

    def __post_init__(self) -> None:
        sizing_of(self)
        emission.require_positive(self.name, entry_zscore=self.entry_zscore)
        emission.require_fraction(self.name, reversion=self.reversion)

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        zscore, mean, mid = pl.col("mid_zscore_20t"), pl.col("mid_mean_20t"), pl.col("mid")
        rule = SingleMarketRule(
            name=self.name,
            version=self.version,
            features=["mid", "spread", "mid_mean_20t", "mid_zscore_20t", "volatility_20t"],
            fair_value=mid + self.reversion * (mean - mid),
            buy_yes=zscore <= -self.entry_zscore,
            buy_no=zscore >= self.entry_zscore,
            strength=strength_past(zscore, self.entry_zscore),
        )
        return evaluate_single_market(rule, sizing_of(self), ticks, markets=markets, since=since)
