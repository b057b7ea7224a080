from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from tickframes import T0, build_ticks, quotes

from edgewatch.errors import InvalidInput
from edgewatch.features import FEATURES, features_of, market_features


def test_mid_and_spread_from_the_quote_with_last_as_fallback() -> None:
    ticks = build_ticks(
        [
            {"market_id": 1, "seconds": 0, "bid": 0.40, "ask": 0.44, "last": 0.41},
            {"market_id": 1, "seconds": 1, "bid": None, "ask": 0.44, "last": 0.43},
        ]
    )
    out = market_features(ticks, names=["mid", "spread", "distance_from_bound"])
    assert out["mid"].to_list() == pytest.approx([0.42, 0.43])
    assert out["spread"].to_list()[0] == pytest.approx(0.04)
    assert out["spread"].to_list()[1] is None
    assert out["distance_from_bound"].to_list() == pytest.approx([0.42, 0.43])


def test_returns_are_differences_of_mid_within_one_market_only() -> None:
    mids = [0.10, 0.12, 0.15, 0.11, 0.20, 0.30, 0.25]
    ticks = build_ticks(quotes(1, mids) + quotes(2, [0.9] * 7))
    out = market_features(ticks, names=["return_1t", "return_5t"])
    first = out.filter(pl.col("market_id") == 1)
    assert first["return_1t"].to_list() == pytest.approx(
        [None, 0.02, 0.03, -0.04, 0.09, 0.10, -0.05], abs=1e-12
    )
    assert first["return_5t"].to_list()[:5] == [None] * 5
    assert first["return_5t"].to_list()[5:] == pytest.approx([0.20, 0.13])
    # Market 2's first ticks must not reach back into market 1.
    second = out.filter(pl.col("market_id") == 2)
    assert second["return_1t"].to_list()[0] is None
    assert second["return_5t"].to_list()[:5] == [None] * 5


def test_volatility_momentum_and_zscore_match_hand_computation() -> None:
    mids = [0.50 + 0.01 * ((i * 7) % 5) + 0.002 * i for i in range(25)]
    ticks = build_ticks(quotes(3, mids))
    out = market_features(ticks)
    moves = np.diff(mids)
    last = out.row(-1, named=True)
    expected_vol = np.std(moves[-20:], ddof=1)
    assert last["volatility_20t"] == pytest.approx(expected_vol, rel=1e-9)
    assert last["return_20t"] == pytest.approx(mids[-1] - mids[-21], rel=1e-9)
    assert last["momentum_20t"] == pytest.approx(
        (mids[-1] - mids[-21]) / (expected_vol * math.sqrt(20)), rel=1e-9
    )
    window = np.array(mids[-20:])
    assert last["mid_mean_20t"] == pytest.approx(window.mean(), rel=1e-12)
    assert last["mid_zscore_20t"] == pytest.approx(
        (mids[-1] - window.mean()) / window.std(ddof=1), rel=1e-9
    )
    # A full window of moves needs 21 ticks: the 20th tick still has none.
    assert out["volatility_20t"].to_list()[19] is None
    assert out["volatility_20t"].to_list()[20] is not None
    assert out["mid_zscore_20t"].to_list()[18] is None
    assert out["mid_zscore_20t"].to_list()[19] is not None


def test_flat_prices_have_zero_volatility_and_no_zscore_or_momentum() -> None:
    ticks = build_ticks(quotes(1, [0.3] * 25))
    last = market_features(ticks).row(-1, named=True)
    assert last["volatility_20t"] == 0.0
    assert last["mid_zscore_20t"] is None
    assert last["momentum_20t"] is None


def test_volume_traded_and_its_change_from_cumulative_volume() -> None:
    rows = quotes(1, [0.5] * 41)
    for i, row in enumerate(rows):  # 1 contract a tick for 20 ticks, then 3 a tick
        row["volume"] = float(i if i <= 20 else 20 + 3 * (i - 20))
    out = market_features(build_ticks(rows), names=["volume_traded_20t", "volume_change_20t"])
    assert out["volume_traded_20t"].to_list()[19] is None
    assert out["volume_traded_20t"].to_list()[20] == 20.0
    assert out["volume_traded_20t"].to_list()[40] == 60.0
    assert out["volume_change_20t"].to_list()[39] is None
    assert out["volume_change_20t"].to_list()[40] == pytest.approx(math.log(61 / 21))


def test_time_to_close_uses_each_markets_close_time() -> None:
    ticks = build_ticks(quotes(1, [0.5, 0.5]) + quotes(2, [0.5]))
    markets = pl.DataFrame({"market_id": [1], "close_time": [T0 + timedelta(hours=1)]})
    out = market_features(ticks, markets=markets, names=["time_to_close"])
    assert out["time_to_close"].to_list() == [3600.0, 3590.0, None]


def test_output_keeps_the_input_rows_and_adds_every_market_feature() -> None:
    ticks = build_ticks(quotes(1, [0.2, 0.3]) + quotes(2, [0.6]))
    out = market_features(ticks)
    assert out.select(ticks.columns).equals(ticks)
    assert out.columns == ticks.columns + [spec.name for spec in features_of("market")]
    assert {spec.group for spec in FEATURES} == {"market", "pair"}


def test_unsorted_frame_is_rejected() -> None:
    ticks = build_ticks(quotes(1, [0.2, 0.3])).reverse()
    with pytest.raises(InvalidInput, match="sorted"):
        market_features(ticks)


def test_unknown_feature_name_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="unknown market features: nope"):
        market_features(build_ticks(quotes(1, [0.2])), names=["nope"])


def test_a_later_stage_feature_alone_does_not_leak_mid_into_the_output() -> None:
    out = market_features(build_ticks(quotes(1, [0.2, 0.25])), names=["return_1t"])
    assert "mid" not in out.columns
    assert out["return_1t"].to_list()[1] == pytest.approx(0.05)
