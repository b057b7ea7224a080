"""The one list of features: name, version, unit, meaning and the expression that computes it.

Models record ``FEATURE_SET_VERSION`` with what they were trained on. Changing what a feature
means bumps its own ``version`` and the set version; ``tests/features/test_registry.py`` pins a
fingerprint of the set so that cannot be forgotten. ``docs/features.md`` is rendered from this
list (``uv run python -m edgewatch.features > docs/features.md``), and a test keeps it so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
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
    #: Helper columns (rolling statistics) this feature reads, computed once before its stage.
    helpers: dict[str, Callable[[], pl.Expr]] = field(default_factory=dict)


PROBABILITY = "probability"
SECONDS = "seconds"
CONTRACTS = "contracts"
RATIO = "dimensionless"

FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        name="mid",
        version="1",
        group="market",
        unit=PROBABILITY,
        description="Midpoint of bid and ask; the last trade price when either side is missing.",
        function=market.mid,
        stage=0,
    ),
    FeatureSpec(
        name="spread",
        version="1",
        group="market",
        unit=PROBABILITY,
        description=(
            "Ask minus bid; null when either side is missing. Never negative for a valid quote."
        ),
        function=market.spread,
        stage=0,
    ),
    FeatureSpec(
        name="time_to_close",
        version="1",
        group="market",
        unit=SECONDS,
        description=(
            "Seconds from the tick to the market's scheduled close (negative after it); null "
            "when the close time is unknown."
        ),
        function=market.time_to_close,
        stage=0,
    ),
    FeatureSpec(
        name="volume_traded_20t",
        version="1",
        group="market",
        unit=CONTRACTS,
        description="Contracts traded over the last 20 ticks (change of the cumulative volume).",
        function=lambda: market.volume_traded(20),
        stage=0,
    ),
    FeatureSpec(
        name="volume_change_20t",
        version="1",
        group="market",
        unit="log ratio",
        description=(
            "log(1 + traded over the last 20 ticks) − log(1 + traded over the 20 before): "
            "positive when trading picks up."
        ),
        function=lambda: market.volume_change(20),
        stage=0,
    ),
    FeatureSpec(
        name="distance_from_bound",
        version="1",
        group="market",
        unit=PROBABILITY,
        description="min(mid, 1 − mid): how far the price is from certainty either way.",
        function=market.distance_from_bound,
    ),
    FeatureSpec(
        name="return_1t",
        version="1",
        group="market",
        unit=PROBABILITY,
        description="Change of mid since the previous tick.",
        function=lambda: market.mid_return(1),
    ),
    FeatureSpec(
        name="return_5t",
        version="1",
        group="market",
        unit=PROBABILITY,
        description="Change of mid over the last 5 ticks.",
        function=lambda: market.mid_return(5),
    ),
    FeatureSpec(
        name="return_20t",
        version="1",
        group="market",
        unit=PROBABILITY,
        description="Change of mid over the last 20 ticks.",
        function=lambda: market.mid_return(20),
    ),
    FeatureSpec(
        name="volatility_20t",
        version="1",
        group="market",
        unit=PROBABILITY,
        description=(
            "Sample standard deviation of the last 20 one-tick mid changes. Never negative."
        ),
        function=lambda: market.volatility(20),
        helpers=market.move_std_helper(20),
    ),
    FeatureSpec(
        name="momentum_20t",
        version="1",
        group="market",
        unit=RATIO,
        description=(
            "return_20t ÷ (volatility_20t × √20): the move over 20 ticks in units of the move"
            " noise alone would make; null when the price did not vary."
        ),
        function=lambda: market.momentum(20),
        helpers=market.move_std_helper(20),
    ),
    FeatureSpec(
        name="mid_mean_20t",
        version="1",
        group="market",
        unit=PROBABILITY,
        description="Mean of mid over the last 20 ticks.",
        function=lambda: market.mid_mean(20),
        helpers=market.mid_mean_helper(20),
    ),
    FeatureSpec(
        name="mid_zscore_20t",
        version="1",
        group="market",
        unit=RATIO,
        description=(
            "(mid − mid_mean_20t) ÷ standard deviation of mid over the last 20 ticks; null "
            "when flat."
        ),
        function=lambda: market.mid_zscore(20),
        helpers={**market.mid_mean_helper(20), **market.mid_std_helper(20)},
    ),
    FeatureSpec(
        name="price_gap",
        version="1",
        group="pair",
        unit=PROBABILITY,
        description=(
            "mid_a − mid_b for a same link, mid_a − (1 − mid_b) for a complement link: "
            "positive when A prices the question higher."
        ),
        function=cross_venue.price_gap,
    ),
    FeatureSpec(
        name="gap_mean_50t",
        version="1",
        group="pair",
        unit=PROBABILITY,
        description="Mean of price_gap over the last 50 points of the pair timeline.",
        function=lambda: cross_venue.gap_mean(50),
        helpers=cross_venue.gap_mean_helper(50),
    ),
    FeatureSpec(
        name="gap_zscore_50t",
        version="1",
        group="pair",
        unit=RATIO,
        description=(
            "(price_gap − gap_mean_50t) ÷ standard deviation of price_gap over the same 50 "
            "points; null when the gap did not vary."
        ),
        function=lambda: cross_venue.gap_zscore(50),
        helpers={**cross_venue.gap_mean_helper(50), **cross_venue.gap_std_helper(50)},
    ),
    FeatureSpec(
        name="lead_lag_30t",
        version="1",
        group="pair",
        unit="correlation difference in [-2, 2]",
        description=(
            "corr(A's previous move, B's move) − corr(B's previous move, A's move) over the "
            "last 30 timeline points: positive when A leads and B follows."
        ),
        function=lambda: cross_venue.lead_lag(30),
    ),
    FeatureSpec(
        name="quote_age",
        version="1",
        group="pair",
        unit=SECONDS,
        description="Age of the older of the two quotes paired at this point.",
        function=cross_venue.quote_age,
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
window. Rolling statistics run market by market, so a value never depends, even in its last
bit, on another market's ticks. Price changes are differences in probability, not ratios.

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
