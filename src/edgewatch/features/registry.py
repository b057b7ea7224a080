"""The one list of features: name, version, unit, meaning and the expression that computes it.

Models record ``FEATURE_SET_VERSION`` with what they were trained on. Changing what a feature
means bumps its own ``version`` and the set version; ``tests/features/test_registry.py`` pins a
fingerprint of the set so that cannot be forgotten. ``docs/features.md`` is rendered from this
list (``uv run python -m edgewatch.features > docs/features.md``), and a test keeps it so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from edgewatch.features import cross_venue, market

FEATURE_SET_VERSION = "1"

Group = Literal["market", "pair"]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    name: str
    version: str
    group: Group
    unit: str
    description: str
    function: Callable[[], pl.Expr]
    #: Features of a later stage may read columns of earlier stages (``mid``).
    stage: int = 1


PROBABILITY = "probability"
SECONDS = "seconds"
CONTRACTS = "contracts"
RATIO = "dimensionless"

FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "mid",
        "1",
        "market",
        PROBABILITY,
        "Midpoint of bid and ask; the last trade price when either side is missing.",
        market.mid,
        stage=0,
    ),
    FeatureSpec(
        "spread",
        "1",
        "market",
        PROBABILITY,
        "Ask minus bid; null when either side is missing. Never negative for a valid quote.",
        market.spread,
        stage=0,
    ),
    FeatureSpec(
        "time_to_close",
        "1",
        "market",
        SECONDS,
        "Seconds from the tick to the market's scheduled close (negative after it); null when "
        "the close time is unknown.",
        market.time_to_close,
        stage=0,
    ),
    FeatureSpec(
        "volume_traded_20t",
        "1",
        "market",
        CONTRACTS,
        "Contracts traded over the last 20 ticks (change of the cumulative volume).",
        lambda: market.volume_traded(20),
        stage=0,
    ),
    FeatureSpec(
        "volume_change_20t",
        "1",
        "market",
        "log ratio",
        "log(1 + traded over the last 20 ticks) − log(1 + traded over the 20 before): "
        "positive when trading picks up.",
        lambda: market.volume_change(20),
        stage=0,
    ),
    FeatureSpec(
        "distance_from_bound",
        "1",
        "market",
        PROBABILITY,
        "min(mid, 1 − mid): how far the price is from certainty either way.",
        market.distance_from_bound,
    ),
    FeatureSpec(
        "return_1t",
        "1",
        "market",
        PROBABILITY,
        "Change of mid since the previous tick.",
        lambda: market.mid_return(1),
    ),
    FeatureSpec(
        "return_5t",
        "1",
        "market",
        PROBABILITY,
        "Change of mid over the last 5 ticks.",
        lambda: market.mid_return(5),
    ),
    FeatureSpec(
        "return_20t",
        "1",
        "market",
        PROBABILITY,
        "Change of mid over the last 20 ticks.",
        lambda: market.mid_return(20),
    ),
    FeatureSpec(
        "volatility_20t",
        "1",
        "market",
        PROBABILITY,
        "Sample standard deviation of the last 20 one-tick mid changes. Never negative.",
        lambda: market.volatility(20),
    ),
    FeatureSpec(
        "momentum_20t",
        "1",
        "market",
        RATIO,
        "return_20t ÷ (volatility_20t × √20): the move over 20 ticks in units of the move noise "
        "alone would make; null when the price did not vary.",
        lambda: market.momentum(20),
    ),
    FeatureSpec(
        "mid_mean_20t",
        "1",
        "market",
        PROBABILITY,
        "Mean of mid over the last 20 ticks.",
        lambda: market.mid_mean(20),
    ),
    FeatureSpec(
        "mid_zscore_20t",
        "1",
        "market",
        RATIO,
        "(mid − mid_mean_20t) ÷ standard deviation of mid over the last 20 ticks; null when flat.",
        lambda: market.mid_zscore(20),
    ),
    FeatureSpec(
        "price_gap",
        "1",
        "pair",
        PROBABILITY,
        "mid_a − mid_b for a same link, mid_a − (1 − mid_b) for a complement link: positive "
        "when A prices the question higher.",
        cross_venue.price_gap,
    ),
    FeatureSpec(
        "gap_mean_50t",
        "1",
        "pair",
        PROBABILITY,
        "Mean of price_gap over the last 50 points of the pair timeline.",
        lambda: cross_venue.gap_mean(50),
    ),
    FeatureSpec(
        "gap_zscore_50t",
        "1",
        "pair",
        RATIO,
        "(price_gap − gap_mean_50t) ÷ standard deviation of price_gap over the same 50 points; "
        "null when the gap did not vary.",
        lambda: cross_venue.gap_zscore(50),
    ),
    FeatureSpec(
        "lead_lag_30t",
        "1",
        "pair",
        "correlation difference in [-2, 2]",
        "corr(A's previous move, B's move) − corr(B's previous move, A's move) over the last "
        "30 timeline points: positive when A leads and B follows.",
        lambda: cross_venue.lead_lag(30),
    ),
    FeatureSpec(
        "quote_age",
        "1",
        "pair",
        SECONDS,
        "Age of the older of the two quotes paired at this point.",
        cross_venue.quote_age,
        stage=0,
    ),
)

_BY_NAME = {spec.name: spec for spec in FEATURES}


def feature(name: str) -> FeatureSpec:
    """The registered feature ``name``; ``KeyError`` if there is none."""
    return _BY_NAME[name]


def features_of(group: Group) -> tuple[FeatureSpec, ...]:
    return tuple(spec for spec in FEATURES if spec.group == group)


def fingerprint() -> str:
    """A short hash of every (name, version): it changes whenever the feature set does."""
    text = "\n".join(f"{spec.group}:{spec.name}:{spec.version}" for spec in FEATURES)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_PREAMBLE = """\
# Features

Generated from `src/edgewatch/features/registry.py` — edit that, then run
`uv run python -m edgewatch.features > docs/features.md`.

Feature set version **{version}** (fingerprint `{fingerprint}`).

All features are computed vectorised with polars over the tick frame (`TICK_SCHEMA`, sorted by
market and time) and are strictly causal: a value at a tick reads only that tick and earlier
ticks of the same market (or, for pairs, quotes at or before that time). Windows are counted in
ticks (`_20t` = the last 20 ticks) and a windowed value is null until its market has a full
window. Price changes are differences in probability, not ratios.

* `edgewatch.features.market_features(ticks, markets=...)` returns the tick frame with one column
  per market feature, row for row.
* `edgewatch.features.pair_features(ticks, links)` returns one row per link and point of the pair
  timeline (every tick time of either market), with both latest quotes (`bid_a`, `ask_a`, …,
  `mid_a`, `mid_b`, `mid_b_aligned`) and one column per pair feature.
"""


def render_docs() -> str:
    lines = [_PREAMBLE.format(version=FEATURE_SET_VERSION, fingerprint=fingerprint())]
    titles: dict[Group, str] = {"market": "Per market", "pair": "Linked market pairs"}
    for group, title in titles.items():
        lines += [f"## {title}", "", "| name | version | unit | meaning |", "|---|---|---|---|"]
        lines += [
            f"| `{spec.name}` | {spec.version} | {spec.unit} | {spec.description} |"
            for spec in features_of(group)
        ]
        lines.append("")
    return "\n".join(lines)
