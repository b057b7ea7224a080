"""Model edge: trade a market when a probability model disagrees with its price by enough.

The model's P(YES) at a tick is the fair value of a YES contract. Buying YES costs the ask and
buying NO costs ``1 − bid`` (see ``single_market``), so before fees

    YES: p − ask                NO: bid − p

and a signal needs that edge, after the venue's taker fee, above ``margin``. The model is handed
in already loaded — the strategy reads no file and no database — and anything with ``name``,
``version``, ``feature_names`` and ``predict`` will do (``forecasting.model.ForecastModel`` is
one). Its market features are computed here with the markets' close times, since models read
``time_to_close``. Ticks where the model cannot predict (a window not yet full) give no signal.

Confidence = (1 − exp(−edge / edge_scale)) × strength, strength 0.5 when |p − mid| is
``margin`` and 1 at twice that. The strategy version names the model (``1/<model>/<version>``),
so a new model version is a new strategy version and its signals are deduplicated apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from edgewatch.features import market_features, markets_frame
from edgewatch.strategies import emission
from edgewatch.strategies.base import LinkInfo, MarketInfo, ProposedSignal
from edgewatch.strategies.single_market import (
    SingleMarketRule,
    Sizing,
    evaluate_single_market,
    strength_past,
)

MODEL_PROBABILITY = "model_probability"


class ProbabilityModel(Protocol):
    name: str
    version: str
    feature_names: tuple[str, ...]

    def predict(self, features: pl.DataFrame) -> npt.NDArray[np.float64]:
        """P(YES) per row of a market-feature frame; NaN where it cannot tell."""
        ...


class ModelEdge:
    name = "model_edge"
    strategy_version = "1"

    def __init__(
        self,
        model: ProbabilityModel,
        *,
        margin: float = 0.02,
        max_spread: float = 0.05,
        ttl_seconds: float = 300.0,
        edge_scale: float = 0.02,
        default_size: float = 100.0,
        max_size: float = 1_000.0,
    ) -> None:
        emission.require_positive(
            self.name,
            margin=margin,
            max_spread=max_spread,
            ttl_seconds=ttl_seconds,
            edge_scale=edge_scale,
            default_size=default_size,
            max_size=max_size,
        )
        self.model = model
        self.margin = margin
        self.sizing = Sizing(
            min_edge=margin,
            max_spread=max_spread,
            ttl_seconds=ttl_seconds,
            edge_scale=edge_scale,
            default_size=default_size,
            max_size=max_size,
        )
        self.version = f"{self.strategy_version}/{model.name}/{model.version}"[:32]

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        known = ticks.filter(pl.col("market_id").is_in(list(markets)))
        if known.is_empty():
            return []
        features = market_features(
            known,
            markets=markets_frame({k: markets[k] for k in known["market_id"].unique()}),
            names=list(dict.fromkeys(["mid", *self.model.feature_names])),
        )
        probabilities = np.asarray(self.model.predict(features), dtype=np.float64)
        if probabilities.shape != (features.height,):
            raise ValueError("the model must return one probability per row")
        priced = known.with_columns(
            pl.Series(MODEL_PROBABILITY, probabilities).fill_nan(None),
        )
        p, mid = pl.col(MODEL_PROBABILITY), pl.col("mid")
        rule = SingleMarketRule(
            name=self.name,
            version=self.version,
            features=["mid", "spread"],
            fair_value=p,
            buy_yes=p > pl.col("ask"),
            buy_no=p < pl.col("bid"),
            strength=strength_past(p - mid, self.margin),
        )
        model = {"model": self.model.name, "model_version": self.model.version}
        return [
            replace(signal, inputs={**signal.inputs, **model})
            for signal in evaluate_single_market(
                rule, self.sizing, priced, markets=markets, since=since
            )
        ]
