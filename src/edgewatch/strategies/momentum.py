"""Momentum on a single market: follow a move that is large against the market's own noise.

``momentum_20t`` is the 20-tick change of the mid in units of what noise alone would move it (a
t-statistic). At ``entry_momentum`` or more, buy YES; at ``−entry_momentum`` or less, buy NO. The
strategy expects a share ``continuation`` of the last 20 ticks' move to carry on before the signal
expires, so it values YES at

    fair = mid + continuation × return_20t

and the edge after fees is that value minus what the contract costs (see ``single_market``).
``continuation`` is an assumption to calibrate in backtests.

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
class Momentum:
    entry_momentum: float = 2.5
    continuation: float = 0.3
    min_edge: float = 0.01
    max_spread: float = 0.05
    ttl_seconds: float = 600.0
    edge_scale: float = 0.02
    default_size: float = 100.0
    max_size: float = 1_000.0

    name = "momentum"
    version = "1"

    def __post_init__(self) -> None:
        sizing_of(self)
        emission.require_positive(self.name, entry_momentum=self.entry_momentum)
        emission.require_fraction(self.name, continuation=self.continuation)

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        momentum, move, mid = pl.col("momentum_20t"), pl.col("return_20t"), pl.col("mid")
        rule = SingleMarketRule(
            name=self.name,
            version=self.version,
            features=["mid", "spread", "return_20t", "volatility_20t", "momentum_20t"],
            fair_value=mid + self.continuation * move,
            buy_yes=momentum >= self.entry_momentum,
            buy_no=momentum <= -self.entry_momentum,
            strength=strength_past(momentum, self.entry_momentum),
        )
        return evaluate_single_market(rule, sizing_of(self), ticks, markets=markets, since=since)
