"""How good a probability model is: Brier score, log loss, and the same for the market's own price.

The formulas are the backtest's (``backtest.metrics``), so a model, a strategy and a backtest are
scored the same way. The market's probability is the mid at the sample's tick: the model must beat
what anyone could read off the order book. ``brier_advantage`` is the market's Brier score minus
the model's (positive: the model is better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from edgewatch.backtest.metrics import brier_advantage, brier_score, calibration_table, log_loss

FloatArray = npt.NDArray[np.float64]


class Forecaster(Protocol):
    def predict(self, features: pl.DataFrame) -> FloatArray: ...


@dataclass(frozen=True, slots=True)
class Evaluation:
    samples: int
    markets: int
    brier: float
    log_loss: float
    brier_market: float
    log_loss_market: float
    brier_advantage: float
    #: ``backtest.metrics.calibration_table``: bin_low, bin_high, count, mean_probability,
    #: observed_frequency.
    calibration: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: undefined values (no samples) as ``None``."""

        def clean(value: float) -> float | None:
            return value if math.isfinite(value) else None

        return {
            "samples": self.samples,
            "markets": self.markets,
            "brier": clean(self.brier),
            "log_loss": clean(self.log_loss),
            "brier_market": clean(self.brier_market),
            "log_loss_market": clean(self.log_loss_market),
            "brier_advantage": clean(self.brier_advantage),
            "calibration": self.calibration.to_dicts(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        def number(key: str) -> float:
            value = data.get(key)
            return math.nan if value is None else float(value)

        return cls(
            samples=int(data["samples"]),
            markets=int(data["markets"]),
            brier=number("brier"),
            log_loss=number("log_loss"),
            brier_market=number("brier_market"),
            log_loss_market=number("log_loss_market"),
            brier_advantage=number("brier_advantage"),
            calibration=calibration_frame(data.get("calibration", [])),
        )


def calibration_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """A stored calibration table (list of dicts) back as the frame ``calibration_table`` makes."""
    empty = calibration_table([], [])
    return pl.DataFrame(list(rows), schema=empty.schema) if rows else empty


def evaluate_forecasts(
    probabilities: Sequence[float] | FloatArray,
    market_probabilities: Sequence[float] | FloatArray,
    outcomes: Sequence[float] | FloatArray,
    *,
    markets: int,
    bins: int = 10,
) -> Evaluation:
    """Score forecasts of P(YES) and the market's prices against 0/1 outcomes."""
    p = np.asarray(probabilities, dtype=np.float64)
    m = np.asarray(market_probabilities, dtype=np.float64)
    y = np.asarray(outcomes, dtype=np.float64)
    return Evaluation(
        samples=int(p.size),
        markets=markets,
        brier=brier_score(p, y),
        log_loss=log_loss(p, y),
        brier_market=brier_score(m, y),
        log_loss_market=log_loss(m, y),
        brier_advantage=brier_advantage(p, m, y) if p.size else math.nan,
        calibration=calibration_table(p, y, bins=bins),
    )


def evaluate(model: Forecaster, frame: pl.DataFrame, *, bins: int = 10) -> Evaluation:
    """Evaluate ``model`` on samples (``dataset.samples``: features, ``mid`` and ``outcome``)."""
    probabilities = model.predict(frame)
    usable = np.isfinite(probabilities)
    return evaluate_forecasts(
        probabilities[usable],
        frame.get_column("mid").to_numpy()[usable],
        frame.get_column("outcome").to_numpy()[usable],
        markets=frame.filter(pl.Series(usable)).get_column("market_id").n_unique(),
        bins=bins,
    )
