from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from tickframes import build_ticks, quotes

from edgewatch.features import pair_features
from edgewatch.strategies.base import LinkInfo


def test_gap_on_the_union_timeline_uses_the_latest_quote_of_each_market() -> None:
    ticks = build_ticks(
        quotes(1, [0.50, 0.60], step_seconds=10) + quotes(2, [0.45], offset_seconds=5)
    )
    out = pair_features(ticks, [LinkInfo(1, 2, "same")])
    # t=0: market 2 has not quoted yet, so the pair starts at t=5.
    assert out["tick_ts"].dt.second().to_list() == [5, 10]
    assert out["price_gap"].to_list() == pytest.approx([0.05, 0.15])
    assert out["quote_age"].to_list() == [5.0, 5.0]


def test_complement_link_compares_a_with_one_minus_b() -> None:
    ticks = build_ticks(quotes(1, [0.70]) + quotes(2, [0.20]))
    out = pair_features(ticks, [LinkInfo(1, 2, "complement")])
    assert out["mid_b_aligned"].to_list() == pytest.approx([0.80])
    assert out["price_gap"].to_list() == pytest.approx([-0.10])


def test_gap_zscore_over_the_last_50_points() -> None:
    gaps = [0.01 * ((i * 3) % 7) for i in range(60)]
    ticks = build_ticks(quotes(1, [0.3 + g for g in gaps]) + quotes(2, [0.3] * 60))
    out = pair_features(ticks, [LinkInfo(1, 2, "same")])
    window = np.array(gaps[-50:])
    assert out["gap_zscore_50t"].to_list()[-1] == pytest.approx(
        (gaps[-1] - window.mean()) / window.std(ddof=1), rel=1e-6
    )
    assert out["gap_zscore_50t"].to_list()[48] is None


def test_lead_lag_says_which_venue_moves_first() -> None:
    rng = np.random.default_rng(5)
    leader = 0.5 + np.cumsum(rng.normal(0, 0.01, 80))
    follower = np.r_[0.5, leader[:-1]]  # copies the leader one tick later
    ticks = build_ticks(quotes(1, list(follower)) + quotes(2, list(leader)))
    out = pair_features(ticks, [LinkInfo(1, 2, "same"), LinkInfo(2, 1, "same")])
    last = out.group_by("link").agg(pl.col("lead_lag_30t").last()).sort("link")
    b_leads, a_leads = last["lead_lag_30t"].to_list()
    assert b_leads < -0.5  # link 0: A is the follower
    assert a_leads == pytest.approx(-b_leads)


def test_links_are_computed_independently_in_one_frame() -> None:
    ticks = build_ticks(quotes(1, [0.5, 0.6]) + quotes(2, [0.4, 0.4]) + quotes(3, [0.3, 0.2]))
    both = pair_features(ticks, [LinkInfo(1, 2, "same"), LinkInfo(1, 3, "complement")])
    alone = pair_features(ticks, [LinkInfo(1, 3, "complement")])
    second = both.filter(pl.col("link") == 1).drop("link")
    assert second.equals(alone.drop("link"))


def test_link_without_ticks_has_no_rows() -> None:
    ticks = build_ticks(quotes(1, [0.5]))
    assert pair_features(ticks, [LinkInfo(1, 9, "same")]).is_empty()
    assert pair_features(ticks, []).is_empty()
