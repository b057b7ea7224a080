"""Forecasting fixtures: a model trained on a small synthetic sample frame."""

from __future__ import annotations

import pytest
from forecastframes import synthetic_samples

from edgewatch.forecasting.dataset import split_by_resolution
from edgewatch.forecasting.model import TrainingResult, train


@pytest.fixture(scope="session")
def tiny_result() -> TrainingResult:
    return train(split_by_resolution(synthetic_samples()), calibration="sigmoid")
