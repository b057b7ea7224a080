"""Every strategy by name, built from a plain params dict (as stored in config or the database).

``create_strategy("mean_reversion", {"entry_zscore": 2.5})`` returns a ready strategy. Unknown
names, unknown parameters and values of the wrong type raise ``InvalidInput`` with one message
naming the problem and what is allowed; range checks are the strategy's own (``__post_init__``).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any

from edgewatch.errors import InvalidInput
from edgewatch.strategies.base import Strategy
from edgewatch.strategies.cross_venue_arbitrage import CrossVenueArbitrage
from edgewatch.strategies.cross_venue_convergence import CrossVenueConvergence
from edgewatch.strategies.mean_reversion import MeanReversion
from edgewatch.strategies.momentum import Momentum

_CLASSES: tuple[type[Any], ...] = (
    CrossVenueArbitrage,
    CrossVenueConvergence,
    MeanReversion,
    Momentum,
)


def _factory(cls: type[Any]) -> Callable[[Mapping[str, Any]], Strategy]:
    def build(params: Mapping[str, Any]) -> Strategy:
        return _build(cls, params)

    return build


#: Strategy name → factory taking a params dict.
STRATEGIES: dict[str, Callable[[Mapping[str, Any]], Strategy]] = {
    cls.name: _factory(cls) for cls in _CLASSES
}


def strategy_names() -> list[str]:
    return sorted(STRATEGIES)


def create_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """The strategy ``name`` with ``params`` over its defaults; ``InvalidInput`` if invalid."""
    factory = STRATEGIES.get(name)
    if factory is None:
        raise InvalidInput(f"unknown strategy {name!r}; known: {', '.join(strategy_names())}")
    return factory(params or {})


def parameters(name: str) -> dict[str, Any]:
    """The parameters of strategy ``name`` and their defaults."""
    cls = next((c for c in _CLASSES if c.name == name), None)
    if cls is None:
        raise InvalidInput(f"unknown strategy {name!r}; known: {', '.join(strategy_names())}")
    return {f.name: f.default for f in dataclasses.fields(cls)}


def _build(cls: type[Any], params: Mapping[str, Any]) -> Strategy:
    hints = typing.get_type_hints(cls)
    fields = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise InvalidInput(
            f"{cls.name}: unknown parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(fields))}"
        )
    values = {key: _coerce(cls.name, key, value, fields[key]) for key, value in params.items()}
    strategy: Strategy = cls(**values)
    if cls is CrossVenueArbitrage:
        _check_arbitrage(strategy)
    return strategy


def _coerce(owner: str, key: str, value: Any, expected: Any) -> Any:
    if expected is float:
        # bool is an int in Python, but `true` for a threshold is a mistake, not 1.0.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{owner}: {key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise InvalidInput(f"{owner}: {key} must be finite, got {value!r}")
        return float(value)
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{owner}: {key} must be an integer, got {value!r}")
        return value
    if not isinstance(value, expected):  # pragma: no cover - every param today is numeric
        raise InvalidInput(f"{owner}: {key} must be {expected.__name__}, got {value!r}")
    return value


def _check_arbitrage(strategy: Any) -> None:
    # CrossVenueArbitrage predates __post_init__ checks; hold it to the same rules here.
    for field in dataclasses.fields(strategy):
        value = getattr(strategy, field.name)
        minimum_ok = value >= 0 if field.name == "min_edge" else value > 0
        if not minimum_ok:
            bound = ">= 0" if field.name == "min_edge" else "> 0"
            raise InvalidInput(f"{strategy.name}: {field.name} must be {bound}, got {value!r}")
