"""What every strategy shares: fees per contract, episodes, dedupe keys, confidence.

A strategy marks each row of its candidate frame as *open* (the opportunity is there before fees)
and splits open rows into *episodes*: maximal runs of consecutive open rows of one stream (a
market and side, or a link, leg and side). Each episode yields at most one signal, at its first
row whose edge survives fees, so an opportunity is reported once while it lasts — and, because
the earlier context is part of ``ticks``, a re-run over a later window does not report it again.
Fees are priced in ``Decimal`` for those few rows only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl

from edgewatch.errors import FeeUnknown, InvalidInput
from edgewatch.strategies.base import MarketInfo
from edgewatch.venues.fees import market_fee

OPEN = "_open"
_EPISODE = "_episode"


@dataclass(frozen=True, slots=True)
class Priced:
    """An order priced with fees: the edge is per contract, after fees."""

    edge: float
    contracts: float
    fee: float


def price_with_fees(
    market: MarketInfo,
    *,
    price: float,
    gross_edge: float,
    displayed_size: float | None,
    default_size: float,
    max_size: float,
) -> Priced | None:
    """Edge per contract after the venue's taker fee, or None if it cannot be priced.

    The size is what the book displays at ``price`` (``default_size`` if it shows none), capped
    at ``max_size``. An unknown fee schedule gives None: fail closed, never assume zero fees.
    """
    size = displayed_size if displayed_size is not None and displayed_size > 0 else default_size
    contracts = math.floor(min(size, max_size))
    if contracts < 1 or not 0.0 <= price <= 1.0:
        return None
    try:
        fee = market_fee(
            fee_schedule=market.fee_schedule,
            fee_multiplier=market.fee_multiplier,
            fee_rate=market.fee_rate,
            price=Decimal(str(round(price, 6))),
            contracts=contracts,
        )
    except FeeUnknown:
        return None
    edge = gross_edge - float(fee) / contracts
    return Priced(edge=edge, contracts=float(contracts), fee=float(fee))


def episodes(
    frame: pl.DataFrame, *, stream: Sequence[str], since: datetime | None
) -> Iterator[list[dict[str, Any]]]:
    """Open rows of each episode that has a row after ``since``, in time order.

    ``frame`` is sorted by ``stream`` columns then ``tick_ts`` and has a boolean ``OPEN`` column.
    """
    if frame.is_empty():
        return
    same_stream = pl.all_horizontal([pl.col(c) == pl.col(c).shift(1) for c in stream])
    was_open = (same_stream & pl.col(OPEN).shift(1)).fill_null(False)
    starts = pl.col(OPEN) & ~was_open
    marked = frame.with_columns(starts.cum_sum().alias(_EPISODE)).filter(pl.col(OPEN))
    if since is not None:
        recent = marked.filter(pl.col("tick_ts") > since).get_column(_EPISODE).unique()
        marked = marked.filter(pl.col(_EPISODE).is_in(recent.implode()))
    for _, rows in marked.group_by(_EPISODE, maintain_order=True):
        yield rows.to_dicts()


def is_after(ts: datetime, since: datetime | None) -> bool:
    return since is None or ts > since


def dedupe_key(name: str, *parts: object) -> str:
    """A key that is the same whenever the same strategy sees the same opportunity again."""
    rendered = [
        str(int(part.timestamp() * 1_000_000)) if isinstance(part, datetime) else str(part)
        for part in parts
    ]
    return ":".join([name, *rendered])


def edge_confidence(edge: float, scale: float) -> float:
    """How clearly the edge clears zero: 1 − exp(−edge / scale), in [0, 1)."""
    return 1.0 - math.exp(-max(edge, 0.0) / scale)


def clamp_unit(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 6)


def require_positive(owner: str, **values: float) -> None:
    """``InvalidInput`` naming the first parameter that is not a finite number > 0."""
    for name, value in values.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise InvalidInput(f"{owner}: {name} must be a number > 0, got {value!r}")


def require_non_negative(owner: str, **values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise InvalidInput(f"{owner}: {name} must be a number >= 0, got {value!r}")


def require_fraction(owner: str, **values: float) -> None:
    """``InvalidInput`` naming the first parameter outside (0, 1]."""
    for name, value in values.items():
        if not (isinstance(value, int | float) and 0.0 < value <= 1.0):
            raise InvalidInput(f"{owner}: {name} must be in (0, 1], got {value!r}")


def rounded_inputs(row: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The named row values for a signal's ``inputs``: floats rounded, times as ISO strings."""
    result: dict[str, Any] = {}
    for name in names:
        value = row.get(name)
        if isinstance(value, float):
            result[name] = round(value, 6) if math.isfinite(value) else None
        elif isinstance(value, datetime):
            result[name] = value.isoformat()
        else:
            result[name] = value
    return result
