"""The baseline probability model: a calibrated logistic regression on market features.

Inputs are registered market features (``MODEL_FEATURES``) at a tick: the mid in log-odds, time
to close as √hours, the mid's recent volatility, and the products of the log-odds with the other
two. The fitted coefficients say how far to trust a price given how long and how fast it can still
move — for instance that a price far from 0.5 with hours left overstates its favourite (the
favourite–longshot bias) — learnt from outcomes, not written as a rule. Fitted on the train split,
then calibrated on the validation split (Platt's sigmoid, isotonic regression, or neither), then
scored once on the test split; see ``dataset`` for the splits and ``docs/forecasting.md`` for the
choices (a richer degree-2 polynomial was tried and fitted noise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from edgewatch.backtest.metrics import brier_score
from edgewatch.errors import InvalidInput
from edgewatch.features import FEATURE_SET_VERSION
from edgewatch.forecasting.dataset import Splits
from edgewatch.forecasting.evaluation import Evaluation, evaluate

FloatArray = npt.NDArray[np.float64]
Calibration = Literal["none", "sigmoid", "isotonic"]
CalibrationChoice = Literal["auto", "none", "sigmoid", "isotonic"]

#: Identifies ``design_matrix`` below: a stored model is only loaded by the code that built it.
MODEL_KIND = "logistic-v1"
MODEL_FEATURES: tuple[str, ...] = ("mid", "time_to_close", "volatility_20t")
_PRICE_FLOOR = 0.005


def _logit(values: FloatArray) -> FloatArray:
    p = np.clip(values, _PRICE_FLOOR, 1.0 - _PRICE_FLOOR)
    return np.asarray(np.log(p / (1.0 - p)), dtype=np.float64)


def design_matrix(frame: pl.DataFrame) -> FloatArray:
    """The regression inputs, one row per frame row; rows with a missing feature hold NaN."""

    def column(name: str) -> FloatArray:
        return frame.get_column(name).cast(pl.Float64).fill_null(math.nan).to_numpy()

    price = _logit(column("mid"))
    hours = np.sqrt(np.maximum(column("time_to_close"), 0.0) / 3600.0)
    volatility = column("volatility_20t")
    # How far a price should be trusted depends on how long it still has to move and how fast it
    # moves: the products let the fit scale the log-odds by both (1 = take the price as it is).
    return np.column_stack(
        [
            price,
            hours,
            volatility,
            price * hours,
            price * volatility,
            price * hours * volatility,
        ]
    )


@dataclass(slots=True)
class ForecastModel:
    """A fitted model of P(YES); ``predict`` is all a strategy needs of it.

    ``name`` and ``version`` are the registry's (empty until saved or loaded).
    """

    estimator: Any
    feature_names: tuple[str, ...] = MODEL_FEATURES
    feature_set_version: str = FEATURE_SET_VERSION
    kind: str = MODEL_KIND
    calibration: str = "none"
    name: str = ""
    version: str = ""

    def predict(self, features: pl.DataFrame) -> FloatArray:
        """P(YES) per row of ``features`` (market features by name); NaN where one is missing."""
        if features.is_empty():
            return np.empty(0)
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise InvalidInput(f"model inputs lack features: {', '.join(missing)}")
        matrix = design_matrix(features)
        usable = np.all(np.isfinite(matrix), axis=1)
        out = np.full(features.height, math.nan)
        if usable.any():
            out[usable] = self.estimator.predict_proba(matrix[usable])[:, 1]
        return out


@dataclass(frozen=True, slots=True)
class TrainingResult:
    model: ForecastModel
    validation: Evaluation
    test: Evaluation
    #: Per split: samples, markets, first and last tick, last resolution (ISO 8601).
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)


def train(
    splits: Splits,
    *,
    calibration: CalibrationChoice = "auto",
    regularisation: float = 1.0,
    bins: int = 10,
    progress: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Fit on ``splits.train``, calibrate on ``splits.validation``, score on ``splits.test``.

    ``calibration``: ``sigmoid`` (Platt) or ``isotonic`` map the fitted probabilities again on the
    validation split; ``none`` keeps the regression's own (a logistic regression fitted by log
    loss is calibrated on its train data already); ``auto`` picks among the three by fitting on
    the earlier half of the validation split and scoring on the later half. ``regularisation`` is
    the inverse L2 strength (scikit-learn's ``C``). ``InvalidInput`` if the train or validation
    split has a single outcome.
    """
    step = progress or (lambda _stage: None)
    for label, part in (("train", splits.train), ("validation", splits.validation)):
        if part.get_column("outcome").n_unique() < 2:
            raise InvalidInput(f"the {label} split has only one outcome; widen the window")
    x_train, y_train = _xy(splits.train)
    base = make_pipeline(
        StandardScaler(), LogisticRegression(C=regularisation, max_iter=2_000)
    ).fit(x_train, y_train)
    step("fitted")
    x_validation, y_validation = _xy(splits.validation)
    method = (
        _choose_calibration(base, x_validation, y_validation)
        if calibration == "auto"
        else (calibration)
    )
    estimator: Any = base
    if method != "none":
        estimator = CalibratedClassifierCV(FrozenEstimator(base), method=method).fit(
            x_validation, y_validation
        )
    step("calibrated")
    model = ForecastModel(estimator=estimator, calibration=method)
    result = TrainingResult(
        model=model,
        validation=evaluate(model, splits.validation, bins=bins),
        test=evaluate(model, splits.test, bins=bins),
        splits={
            "train": describe(splits.train),
            "validation": describe(splits.validation),
            "test": describe(splits.test),
        },
    )
    step("evaluated")
    return result


def _choose_calibration(base: Any, x: FloatArray, y: FloatArray) -> Calibration:
    """The calibration that scores best on the later half of validation, fitted on the earlier."""
    half = x.shape[0] // 2
    if half == 0 or len(set(y[:half].tolist())) < 2:
        return "none"
    scores: dict[Calibration, float] = {
        "none": brier_score(base.predict_proba(x[half:])[:, 1], y[half:])
    }
    for method in ("sigmoid", "isotonic"):
        fitted = CalibratedClassifierCV(FrozenEstimator(base), method=method).fit(
            x[:half], y[:half]
        )
        scores[method] = brier_score(fitted.predict_proba(x[half:])[:, 1], y[half:])
    return min(scores, key=lambda name: (scores[name], name != "none"))


def _xy(frame: pl.DataFrame) -> tuple[FloatArray, FloatArray]:
    matrix = design_matrix(frame)
    usable = np.all(np.isfinite(matrix), axis=1)
    outcomes = frame.get_column("outcome").cast(pl.Float64).to_numpy()
    return matrix[usable], outcomes[usable]


def describe(frame: pl.DataFrame) -> dict[str, Any]:
    """Size and time span of a split, for the model's metadata."""

    def iso(column: str, how: Literal["min", "max"]) -> str | None:
        series = frame.get_column(column)
        value = series.min() if how == "min" else series.max()
        return value.isoformat() if isinstance(value, datetime) else None

    return {
        "samples": frame.height,
        "markets": frame.get_column("market_id").n_unique(),
        "yes_share": float(frame.get_column("outcome").cast(pl.Float64).sum()) / frame.height
        if frame.height
        else None,
        "first_tick": iso("tick_ts", "min"),
        "last_tick": iso("tick_ts", "max"),
        "first_resolution": iso("resolved_at", "min"),
        "last_resolution": iso("resolved_at", "max"),
    }
