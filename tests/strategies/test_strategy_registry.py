from __future__ import annotations

from typing import Any

import pytest

from edgewatch.errors import InvalidInput
from edgewatch.strategies.cross_venue_arbitrage import CrossVenueArbitrage
from edgewatch.strategies.mean_reversion import MeanReversion
from edgewatch.strategies.registry import (
    STRATEGIES,
    create_strategy,
    parameters,
    strategy_names,
)


def test_every_strategy_is_registered_under_its_own_name() -> None:
    assert strategy_names() == [
        "cross_venue_arbitrage",
        "cross_venue_convergence",
        "mean_reversion",
        "momentum",
    ]
    for name in STRATEGIES:
        strategy = create_strategy(name)
        assert strategy.name == name
        assert strategy.version


def test_params_override_defaults() -> None:
    strategy = create_strategy("mean_reversion", {"entry_zscore": 3, "min_edge": 0.02})
    assert strategy == MeanReversion(entry_zscore=3.0, min_edge=0.02)
    assert create_strategy("cross_venue_arbitrage", {"min_edge": 0.01}) == CrossVenueArbitrage(
        min_edge=0.01
    )
    assert parameters("momentum")["entry_momentum"] == 2.5


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("nope", {}, "unknown strategy 'nope'; known: cross_venue_arbitrage"),
        ("momentum", {"window": 5}, "momentum: unknown parameter(s) window; allowed:"),
        ("momentum", {"min_edge": "0.01"}, "momentum: min_edge must be a number"),
        ("momentum", {"min_edge": True}, "momentum: min_edge must be a number"),
        ("momentum", {"min_edge": float("nan")}, "momentum: min_edge must be finite"),
        ("momentum", {"continuation": 1.5}, "momentum: continuation must be in (0, 1]"),
        (
            "mean_reversion",
            {"entry_zscore": 0},
            "mean_reversion: entry_zscore must be a number > 0",
        ),
        ("cross_venue_convergence", {"min_edge": -0.1}, "min_edge must be a number >= 0"),
        ("cross_venue_arbitrage", {"ttl_seconds": -5}, "ttl_seconds must be > 0"),
    ],
)
def test_invalid_params_are_rejected_with_one_clear_message(
    name: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        create_strategy(name, params)
    assert message in caught.value.message
