"""Validation at the venue boundary: corrupt data is worse than no data."""

from __future__ import annotations

import math

from edgewatch.errors import InvalidPayload
from edgewatch.venues.base import TickRecord


def check_probability(value: float | None, name: str) -> None:
    if value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidPayload("wrong_type", f"{name} is not a number: {value!r}")
    if math.isnan(value) or math.isinf(value):
        raise InvalidPayload("not_finite", f"{name} is not finite: {value!r}")
    if not 0.0 <= value <= 1.0:
        raise InvalidPayload("out_of_range", f"{name} {value!r} is outside [0, 1]")


def check_tick(tick: TickRecord) -> None:
    """Raise ``InvalidPayload`` (with a short machine reason) for a tick we must not store."""
    check_probability(tick.bid, "bid")
    check_probability(tick.ask, "ask")
    check_probability(tick.last, "last")
    if tick.bid is None and tick.ask is None and tick.last is None:
        raise InvalidPayload("empty_quote", "tick has no bid, ask or last price")
    if tick.bid is not None and tick.ask is not None and tick.bid > tick.ask:
        raise InvalidPayload("crossed_quote", f"bid {tick.bid} is above ask {tick.ask}")
    for name in ("volume", "bid_size", "ask_size"):
        value = getattr(tick, name)
        if value is not None and (math.isnan(value) or value < 0):
            raise InvalidPayload("negative_size", f"{name} {value!r} is negative or NaN")
    if tick.ts.tzinfo is None:
        raise InvalidPayload("naive_time", "tick time has no time zone")
