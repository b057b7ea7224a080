"""On the simulator, where the truth is known, the trained model beats the market's own price."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from edgewatch.forecasting import dataset
from edgewatch.forecasting.model import MODEL_FEATURES, TrainingResult, train
from edgewatch.venues.sim.world import EPOCH, SimConfig, SimWorld

SEED = 3


@pytest.fixture(scope="module")
def sim_result() -> TrainingResult:
    world = SimWorld(SimConfig(seed=SEED, events=150))
    data = dataset.from_sim(world, start=EPOCH, end=EPOCH + timedelta(days=1))
    samples = dataset.samples(data, features=MODEL_FEATURES)
    return train(dataset.split_by_resolution(samples))


def test_model_beats_the_market_price_out_of_sample(sim_result: TrainingResult) -> None:
    test = sim_result.test
    assert test.markets > 1_000
    assert test.brier < test.brier_market
    assert test.brier_advantage > 0
    assert test.log_loss < test.log_loss_market


def test_model_learns_that_long_dated_favourites_are_overpriced(
    sim_result: TrainingResult,
) -> None:
    # The simulator resolves on where the hidden probability ends up, so a price far from 0.5
    # with hours left overstates its favourite; the fit must have found that in the data.
    frame = pl.DataFrame(
        {
            "mid": [0.9, 0.1, 0.9],
            "time_to_close": [4_000.0, 4_000.0, 30.0],
            "volatility_20t": [0.01, 0.01, 0.01],
        }
    )
    favourite, longshot, closing = sim_result.model.predict(frame)
    assert favourite < 0.9 - 0.02
    assert longshot > 0.1 + 0.02
    assert abs(closing - 0.9) < abs(favourite - 0.9)


def test_test_calibration_table_covers_every_test_sample(sim_result: TrainingResult) -> None:
    table = sim_result.test.calibration
    assert table.columns == [
        "bin_low", "bin_high", "count", "mean_probability", "observed_frequency",
    ]  # fmt: skip
    assert table.height == 10
    assert table.get_column("count").sum() == sim_result.test.samples
    filled = table.filter(pl.col("count") > 0)
    assert (filled["mean_probability"] >= filled["bin_low"]).all()
    assert (filled["mean_probability"] <= filled["bin_high"]).all()
    weighted = (filled["mean_probability"] * filled["count"]).sum() / filled["count"].sum()
    assert 0.0 < weighted < 1.0
    assert np.allclose(table["bin_high"] - table["bin_low"], 0.1)


def test_splits_are_ordered_by_resolution_time(sim_result: TrainingResult) -> None:
    train_split, validation, test = (
        sim_result.splits[name] for name in ("train", "validation", "test")
    )
    assert train_split["last_resolution"] <= validation["first_resolution"]
    assert validation["last_resolution"] <= test["first_resolution"]
    # Every evaluation sample was taken after the labels before it were public.
    assert train_split["last_resolution"] < validation["first_tick"]
    assert validation["last_resolution"] < test["first_tick"]
