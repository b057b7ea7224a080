"""Samples see no future: features from earlier ticks only, labels from the outcome."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from forecastframes import synthetic_samples

from edgewatch.errors import InvalidInput
from edgewatch.forecasting import dataset
from edgewatch.forecasting.model import MODEL_FEATURES
from edgewatch.venues.sim.world import EPOCH, SimConfig, SimWorld


@pytest.fixture(scope="module")
def data() -> dataset.ResolvedMarkets:
    world = SimWorld(SimConfig(seed=5, events=12))
    return dataset.from_sim(world, start=EPOCH, end=EPOCH + timedelta(hours=3))


def test_samples_do_not_change_when_later_ticks_do(data: dataset.ResolvedMarkets) -> None:
    before = dataset.samples(data, features=MODEL_FEATURES)
    cut = before.get_column("tick_ts").sort()[before.height // 2]
    future = pl.col("tick_ts") > cut
    perturbed = data.ticks.with_columns(
        pl.when(future).then(1.0 - pl.col("bid")).otherwise(pl.col("ask")).alias("ask"),
        pl.when(future).then(1.0 - pl.col("ask")).otherwise(pl.col("bid")).alias("bid"),
    )
    after = dataset.samples(
        dataset.ResolvedMarkets(ticks=perturbed, markets=data.markets), features=MODEL_FEATURES
    )
    early = pl.col("tick_ts") <= cut
    assert before.filter(early).equals(after.filter(early))
    assert not before.filter(~early).equals(after.filter(~early))


def test_samples_are_before_close_labelled_and_one_per_slot(
    data: dataset.ResolvedMarkets,
) -> None:
    frame = dataset.samples(data, features=MODEL_FEATURES, every=timedelta(minutes=5))
    joined = frame.join(data.markets.select("market_id", "close_time"), on="market_id")
    assert (joined["tick_ts"] < joined["close_time"]).all()
    assert (joined["tick_ts"] < joined["resolved_at"]).all()
    assert set(frame["outcome"].unique().to_list()) <= {0, 1}
    slots = frame.with_columns(pl.col("tick_ts").dt.truncate("5m").alias("slot"))
    assert slots.select("market_id", "slot").is_duplicated().sum() == 0
    assert frame.null_count().sum_horizontal().item() == 0


def test_sim_outcomes_match_the_hidden_truth(data: dataset.ResolvedMarkets) -> None:
    assert data.markets.height > 20
    assert data.markets["outcome"].n_unique() == 2
    assert (data.ticks["bid"] <= data.ticks["ask"]).all()


def test_later_splits_drop_samples_taken_before_earlier_labels_were_public() -> None:
    splits = dataset.split_by_resolution(synthetic_samples())
    assert splits.train["resolved_at"].max() < splits.validation["tick_ts"].min()
    assert splits.validation["resolved_at"].max() < splits.test["tick_ts"].min()
    markets = [set(s["market_id"]) for s in (splits.train, splits.validation, splits.test)]
    assert not (markets[0] & markets[1]) and not (markets[1] & markets[2])


def test_too_few_markets_cannot_be_split() -> None:
    with pytest.raises(InvalidInput, match="too few"):
        dataset.split_by_resolution(synthetic_samples(markets=2))
