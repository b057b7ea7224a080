"""Training samples from resolved markets: features at a tick, labelled with the market's outcome.

A sample is one (market, tick) with the registered market features at that tick — computed from
that tick and earlier ticks of the same market only (``features.market_features`` is causal) — and
the label 1 if the market resolved YES, 0 if NO. Void markets are not samples. Each market gives
at most one sample per ``every`` of its life (the last tick of each slot), so long-lived markets do
not drown short ones, and ticks at or after the market's close or resolution are never samples.

Splits are by resolution time (``split_by_resolution``): a model is fitted on the markets that
resolved first, calibrated on the next ones and tested on the last. A later split also drops its
samples taken before the previous split's last resolution, so every sample a model is evaluated
on was taken after every label it learned from was public.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from edgewatch.errors import InvalidInput
from edgewatch.features import market_features
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.venues.sim.world import SimWorld

_TIME = pl.Datetime("us", "UTC")
MARKETS_SCHEMA: dict[str, Any] = {
    "market_id": pl.Int64,
    "close_time": _TIME,
    "resolved_at": _TIME,
    "outcome": pl.Int8,
}
DEFAULT_SAMPLE_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ResolvedMarkets:
    """Ticks (``TICK_SCHEMA``, sorted by market and time) of resolved markets, and outcomes.

    ``markets`` follows ``MARKETS_SCHEMA``; ``outcome`` is 1 for YES and 0 for NO.
    """

    ticks: pl.DataFrame
    markets: pl.DataFrame


@dataclass(frozen=True, slots=True)
class Splits:
    train: pl.DataFrame
    validation: pl.DataFrame
    test: pl.DataFrame


def valid_quotes(ticks: pl.DataFrame) -> pl.DataFrame:
    """Ticks whose prices are finite, in [0, 1] and not crossed: what ingest would store."""
    price_ok = pl.lit(True)
    for column in ("bid", "ask", "last"):
        value = pl.col(column)
        price_ok = price_ok & (value.is_null() | (value.is_finite() & value.is_between(0.0, 1.0)))
    uncrossed = pl.col("bid").is_null() | pl.col("ask").is_null() | (pl.col("bid") <= pl.col("ask"))
    return ticks.filter((price_ok & uncrossed).fill_null(False))


def samples(
    data: ResolvedMarkets,
    *,
    features: Sequence[str],
    every: timedelta = DEFAULT_SAMPLE_EVERY,
) -> pl.DataFrame:
    """One row per market and ``every`` slot: ``market_id``, ``tick_ts``, ``resolved_at``,
    ``outcome`` and the named features (rows missing any of them are dropped)."""
    if every <= timedelta(0):
        raise InvalidInput("the sampling interval must be positive")
    markets = data.markets
    ticks = (
        valid_quotes(data.ticks)
        .join(markets.select("market_id", "close_time", "resolved_at"), on="market_id")
        .filter(
            (pl.col("close_time").is_null() | (pl.col("tick_ts") < pl.col("close_time")))
            & (pl.col("tick_ts") < pl.col("resolved_at"))
        )
        .select(list(TICK_SCHEMA))
        .sort("market_id", "tick_ts")
    )
    frame = market_features(
        ticks, markets=markets.select("market_id", "close_time"), names=list(features)
    )
    slot = pl.col("tick_ts").dt.truncate(f"{int(every.total_seconds() * 1_000_000)}us")
    sampled = (
        frame.with_columns(slot.alias("_slot"))
        .unique(subset=["market_id", "_slot"], keep="last", maintain_order=True)
        .drop("_slot")
        .drop_nulls(subset=list(features))
    )
    for name in features:
        if sampled.schema[name].is_float():
            sampled = sampled.filter(pl.col(name).is_finite())
    return sampled.join(
        markets.select("market_id", "resolved_at", "outcome"), on="market_id"
    ).select("market_id", "tick_ts", "resolved_at", "outcome", *features)


def split_by_resolution(
    frame: pl.DataFrame, *, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
) -> Splits:
    """Train, validation and test samples by the resolution time of their markets.

    Markets, not samples, are split (``fractions`` of the markets in resolution order), so no
    market is on both sides; later splits keep only samples taken after the previous split's
    last resolution. ``InvalidInput`` when a split would be empty.
    """
    if len(fractions) != 3 or any(f <= 0 for f in fractions):
        raise InvalidInput("split fractions must be three positive numbers")
    order = (
        frame.group_by("market_id")
        .agg(pl.col("resolved_at").first())
        .sort("resolved_at", "market_id")
    )
    count = order.height
    total = sum(fractions)
    first_cut = round(count * fractions[0] / total)
    second_cut = round(count * (fractions[0] + fractions[1]) / total)
    if not 0 < first_cut < second_cut < count:
        raise InvalidInput(f"{count} resolved markets are too few to split three ways")
    groups = [
        order.slice(0, first_cut),
        order.slice(first_cut, second_cut - first_cut),
        order.slice(second_cut, count - second_cut),
    ]
    parts: list[pl.DataFrame] = []
    public_after: datetime | None = None
    for group in groups:
        part = frame.filter(pl.col("market_id").is_in(group.get_column("market_id").implode()))
        if public_after is not None:
            part = part.filter(pl.col("tick_ts") > public_after)
        if part.is_empty():
            raise InvalidInput("a split has no samples after the previous split's resolutions")
        parts.append(part.sort("tick_ts", "market_id"))
        public_after = group.get_column("resolved_at").max()  # type: ignore[assignment]
    return Splits(train=parts[0], validation=parts[1], test=parts[2])


def from_sim(world: SimWorld, *, start: datetime, end: datetime) -> ResolvedMarkets:
    """Markets of the simulator that resolved in ``(start, end]``, with their ticks in it.

    Needs no database: the world generates the window directly. Quotes the simulator corrupts on
    purpose (crossed, NaN) are dropped as ingest would drop them.
    """
    if end <= start:
        raise InvalidInput("the window must end after it starts")
    keep = world.step_at(end) - world.step_at(start) + world.config.max_life_steps
    records = [
        record
        for record in world.markets(end, keep_closed_steps=keep)
        if record.status == "resolved"
        and record.resolution in ("yes", "no")
        and record.resolved_at is not None
        and start < record.resolved_at <= end
    ]
    records.sort(key=lambda record: (record.venue, record.venue_market_id))
    markets = pl.DataFrame(
        {
            "market_id": list(range(1, len(records) + 1)),
            "close_time": [record.close_time for record in records],
            "resolved_at": [record.resolved_at for record in records],
            "outcome": [1 if record.resolution == "yes" else 0 for record in records],
        },
        schema=MARKETS_SCHEMA,
    )
    keys = pl.DataFrame(
        {
            "venue": [record.venue for record in records],
            "venue_market_id": [record.venue_market_id for record in records],
            "market_id": markets.get_column("market_id"),
        },
        schema={"venue": pl.Utf8, "venue_market_id": pl.Utf8, "market_id": pl.Int64},
    )
    ticks = (
        world.tick_frame(start, end)
        .join(keys, on=["venue", "venue_market_id"])
        .select([pl.col(name).cast(dtype) for name, dtype in TICK_SCHEMA.items()])
        .sort("market_id", "tick_ts")
    )
    return ResolvedMarkets(ticks=valid_quotes(ticks), markets=markets)
