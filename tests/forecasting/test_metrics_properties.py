"""Brier score and log loss agree with scikit-learn's on any data."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sklearn_log_loss

from edgewatch.forecasting.evaluation import evaluate_forecasts

forecasts = st.lists(
    st.tuples(
        st.floats(min_value=0.001, max_value=0.999),
        st.floats(min_value=0.0, max_value=1.0),
        st.integers(min_value=0, max_value=1),
    ),
    min_size=1,
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(forecasts)
def test_brier_and_log_loss_equal_scikit_learn(rows: list[tuple[float, float, int]]) -> None:
    p = np.array([row[0] for row in rows])
    market = np.array([row[1] for row in rows])
    y = np.array([row[2] for row in rows])
    result = evaluate_forecasts(p, market, y, markets=1)
    assert math.isclose(result.brier, brier_score_loss(y, p, pos_label=1), abs_tol=1e-12)
    assert math.isclose(result.log_loss, sklearn_log_loss(y, p, labels=[0, 1]), rel_tol=1e-9)
    assert math.isclose(
        result.brier_advantage,
        brier_score_loss(y, market, pos_label=1) - brier_score_loss(y, p, pos_label=1),
        abs_tol=1e-12,
    )
    assert result.calibration.get_column("count").sum() == len(rows)
