"""Properties of every feature on random tick frames: causality and basic invariants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from tickframes import T0

from edgewatch.features import market_features, pair_features
from edgewatch.strategies.base import TICK_SCHEMA, LinkInfo

LINKS = [LinkInfo(1, 2, "same"), LinkInfo(1, 3, "complement"), LinkInfo(3, 2, "same")]
prices = st.floats(0.0, 1.0, allow_nan=False)
maybe_prices = st.one_of(st.none(), prices)


@st.composite
def tick_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Ticks of up to three markets, in frame order, with possibly repeated times."""
    rows: list[dict[str, Any]] = []
    for market_id in range(1, draw(st.integers(1, 3)) + 1):
        count = draw(st.integers(0, 50))
        gaps = draw(st.lists(st.integers(0, 20), min_size=count, max_size=count))
        bids = draw(st.lists(maybe_prices, min_size=count, max_size=count))
        asks = draw(st.lists(maybe_prices, min_size=count, max_size=count))
        lasts = draw(st.lists(prices, min_size=count, max_size=count))
        traded = draw(st.lists(st.integers(0, 50), min_size=count, max_size=count))
        seconds = volume = 0
        for i in range(count):
            seconds += gaps[i]
            volume += traded[i]
            rows.append(
                {
                    "market_id": market_id,
                    "tick_ts": T0 + timedelta(seconds=seconds),
                    "bid": bids[i],
                    "ask": asks[i],
                    "last": lasts[i],
                    "volume": float(volume),
                    "bid_size": 10.0,
                    "ask_size": 10.0,
                }
            )
    return rows


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=TICK_SCHEMA)


@settings(max_examples=60, deadline=None)
@given(rows=tick_rows(), cutoff=st.integers(0, 600), data=st.data())
def test_no_feature_looks_ahead(
    rows: list[dict[str, Any]], cutoff: int, data: st.DataObject
) -> None:
    """Changing or dropping every tick after time t changes no feature at or before t."""
    t = T0 + timedelta(seconds=cutoff)
    altered = []
    for row in rows:
        if row["tick_ts"] <= t:
            altered.append(row)
        elif data.draw(st.booleans()):  # keep the tick, with different values
            altered.append(
                {
                    **row,
                    "bid": data.draw(maybe_prices),
                    "ask": data.draw(maybe_prices),
                    "last": data.draw(prices),
                    "volume": row["volume"] * 10 + 7,
                }
            )
    original, perturbed = frame(rows), frame(altered)
    past = pl.col("tick_ts") <= t

    before = market_features(original).filter(past)
    after = market_features(perturbed).filter(past)
    assert before.equals(after)

    pairs_before = pair_features(original, LINKS).filter(past)
    pairs_after = pair_features(perturbed, LINKS).filter(past)
    assert pairs_before.equals(pairs_after)


@settings(max_examples=60, deadline=None)
@given(rows=tick_rows())
def test_invariants_hold_and_rows_stay_aligned(rows: list[dict[str, Any]]) -> None:
    ticks = frame(rows)
    out = market_features(ticks)
    assert out.height == ticks.height
    assert out.select(ticks.columns).equals(ticks)

    valid = out.filter(pl.col("bid") <= pl.col("ask"))
    assert (valid["spread"] >= 0).all()
    assert (out["volatility_20t"].drop_nulls() >= 0).all()
    assert out["distance_from_bound"].drop_nulls().is_between(0.0, 0.5).all()

    pairs = pair_features(ticks, LINKS)
    assert pairs["lead_lag_30t"].drop_nulls().is_between(-2.0, 2.0).all()
    assert (pairs["quote_age"] >= 0).all()
    counts = pairs.group_by("link").len()
    for link, count in counts.iter_rows():
        a, b = LINKS[link].market_a, LINKS[link].market_b
        union = ticks.filter(pl.col("market_id").is_in([a, b]))["tick_ts"].n_unique()
        assert count <= union
