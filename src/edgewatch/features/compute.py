"""Compute registered features over a whole tick frame at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import polars as pl

from edgewatch.errors import InvalidInput
from edgewatch.features import windows
from edgewatch.features.market import CLOSE_TIME
from edgewatch.features.registry import FeatureSpec, Group, feature, features_of
from edgewatch.features.timing import timed
from edgewatch.strategies.base import TICK_SCHEMA, LinkInfo, MarketInfo

_CLOSE_TIME_TYPE = pl.Datetime("us", "UTC")
_QUOTE_COLUMNS = ("bid", "ask", "last", "bid_size", "ask_size")


def markets_frame(markets: Mapping[int, MarketInfo]) -> pl.DataFrame:
    """The ``market_id``/``close_time`` frame ``market_features`` accepts, from ``MarketInfo``."""
    return pl.DataFrame(
        {
            "market_id": [info.market_id for info in markets.values()],
            "close_time": [info.close_time for info in markets.values()],
        },
        schema={"market_id": pl.Int64, "close_time": _CLOSE_TIME_TYPE},
    )


def market_features(
    ticks: pl.DataFrame,
    *,
    markets: pl.DataFrame | None = None,
    names: Iterable[str] | None = None,
) -> pl.DataFrame:
    """``ticks`` with one more column per market feature, in the same row order.

    ``ticks`` follows ``TICK_SCHEMA`` and is sorted by (``market_id``, ``tick_ts``); a frame that
    is not raises ``InvalidInput``, since every window would silently mix markets. ``markets``
    gives ``close_time`` per ``market_id`` (for ``time_to_close``); ``names`` limits the output to
    those features (default: all of them).
    """
    with timed("market"):
        return _market_features(ticks, markets=markets, names=names)


def _market_features(
    ticks: pl.DataFrame, *, markets: pl.DataFrame | None, names: Iterable[str] | None
) -> pl.DataFrame:
    _check_sorted(ticks, "market_id")
    specs = _select(names, "market")
    helpers = [windows.SERIES, windows.POSITION, CLOSE_TIME]
    if "mid" not in {spec.name for spec in specs} and any(spec.stage > 0 for spec in specs):
        specs.insert(0, feature("mid"))  # later stages read it
        helpers.append("mid")
    series = ticks.get_column("market_id")
    starts, lengths = windows.runs(series)
    frame = ticks.lazy().with_columns(
        pl.col("market_id").set_sorted().alias(windows.SERIES),
        windows.positions(starts, lengths).alias(windows.POSITION),
        _close_times(series, starts, lengths, markets).alias(CLOSE_TIME),
    )
    return _apply(frame, specs).drop(helpers).collect()


def pair_features(
    ticks: pl.DataFrame,
    links: Sequence[LinkInfo],
    *,
    names: Iterable[str] | None = None,
) -> pl.DataFrame:
    """One row per link and point of its timeline, sorted by (``link``, ``tick_ts``).

    Columns: ``link`` (index into ``links``), ``market_a``, ``market_b``, ``tick_ts``, the
    latest quote of each market at or before it (``bid_a``, ``ask_a``, …, ``quote_ts_a``, and
    the same for ``_b``), ``mid_a``, ``mid_b``, ``mid_b_aligned`` and the pair features.
    A link whose markets have no ticks has no rows; rows before both markets quoted are dropped.
    """
    with timed("pair"):
        return _pair_features(ticks, links, names=names)


def _pair_features(
    ticks: pl.DataFrame, links: Sequence[LinkInfo], *, names: Iterable[str] | None
) -> pl.DataFrame:
    _check_sorted(ticks, "market_id")
    specs = _select(names, "pair")
    link_frame = pl.DataFrame(
        {
            "link": list(range(len(links))),
            "market_a": [link.market_a for link in links],
            "market_b": [link.market_b for link in links],
            "complement": [link.relation == "complement" for link in links],
        },
        schema={
            "link": pl.Int64,
            "market_a": pl.Int64,
            "market_b": pl.Int64,
            "complement": pl.Boolean,
        },
    ).lazy()
    quotes = ticks.lazy().select("market_id", "tick_ts", *_QUOTE_COLUMNS)
    side_a, side_b = _side(quotes, link_frame, "a"), _side(quotes, link_frame, "b")
    timeline = (
        pl.concat([side_a.select("link", "tick_ts"), side_b.select("link", "tick_ts")])
        .unique()
        .sort("link", "tick_ts")
    )
    joined = (
        timeline.join_asof(
            side_a, on="tick_ts", by="link", strategy="backward", check_sortedness=False
        )
        .join_asof(side_b, on="tick_ts", by="link", strategy="backward", check_sortedness=False)
        .filter(pl.col("quote_ts_a").is_not_null() & pl.col("quote_ts_b").is_not_null())
        .join(link_frame, on="link", how="left")
        .sort("link", "tick_ts")
    )
    frame = (
        joined.with_columns(
            _mid("a"),
            _mid("b"),
        )
        .with_columns(
            pl.when(pl.col("complement"))
            .then(1.0 - pl.col("mid_b"))
            .otherwise(pl.col("mid_b"))
            .alias("mid_b_aligned"),
        )
        .with_columns(windows.helper_columns("link"))
    )
    frame = _apply(frame, specs)
    leading = ["link", "market_a", "market_b", "complement", "tick_ts"]
    rest = [c for c in frame.collect_schema().names() if c not in leading]
    return frame.select(*leading, *rest).drop(windows.SERIES, windows.POSITION).collect()


def _side(quotes: pl.LazyFrame, links: pl.LazyFrame, suffix: str) -> pl.LazyFrame:
    markets = links.select("link", pl.col(f"market_{suffix}").alias("market_id"))
    renamed = {c: f"{c}_{suffix}" for c in _QUOTE_COLUMNS}
    return (
        quotes.join(markets, on="market_id", how="inner", maintain_order="left")
        .drop("market_id")
        .rename(renamed)
        .with_columns(pl.col("tick_ts").alias(f"quote_ts_{suffix}"))
        .sort("link", "tick_ts", maintain_order=True)
        # Of several ticks at one instant the last is the market's state at that instant.
        .unique(subset=["link", "tick_ts"], keep="last", maintain_order=True)
    )


def _mid(suffix: str) -> pl.Expr:
    bid, ask, last = (pl.col(f"{c}_{suffix}") for c in ("bid", "ask", "last"))
    both = bid.is_not_null() & ask.is_not_null()
    return pl.when(both).then((bid + ask) / 2.0).otherwise(last).alias(f"mid_{suffix}")


def _apply(frame: pl.LazyFrame, specs: Sequence[FeatureSpec]) -> pl.LazyFrame:
    """Add ``specs`` stage by stage, each stage's helper columns just before it."""
    # Later stages read columns of earlier ones (``mid``), which must exist even if not asked for.
    for stage in sorted({spec.stage for spec in specs}):
        staged = [spec for spec in specs if spec.stage == stage]
        helpers = {name: build for spec in staged for name, build in spec.helpers.items()}
        if helpers:
            frame = frame.with_columns(build().alias(name) for name, build in helpers.items())
        frame = frame.with_columns(spec.function().alias(spec.name) for spec in staged)
        frame = frame.drop(helpers)
    return frame


def _select(names: Iterable[str] | None, group: Group) -> list[FeatureSpec]:
    available = features_of(group)
    if names is None:
        return list(available)
    wanted = list(dict.fromkeys(names))
    known = {spec.name for spec in available}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise InvalidInput(
            f"unknown {group} features: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return [feature(name) for name in wanted]


def _check_sorted(ticks: pl.DataFrame, series: str) -> None:
    missing = [c for c in TICK_SCHEMA if c not in ticks.columns]
    if missing:
        raise InvalidInput(f"tick frame lacks columns: {', '.join(missing)}")
    if ticks.height < 2:
        return
    step = pl.col(series).diff()
    backwards = pl.col("tick_ts").diff() < pl.duration(microseconds=0)
    out_of_order = ticks.select(((step < 0) | ((step == 0) & backwards)).any()).item()
    if out_of_order:
        raise InvalidInput(f"tick frame must be sorted by ({series}, tick_ts)")


def _close_times(
    series: pl.Series, starts: np.ndarray, lengths: np.ndarray, markets: pl.DataFrame | None
) -> pl.Series:
    """Each tick's market close time: one lookup per market, repeated over its ticks."""
    if markets is None or markets.is_empty() or series.is_empty():
        return pl.Series(values=[None] * series.len(), dtype=_CLOSE_TIME_TYPE)
    known = markets.select("market_id", pl.col("close_time").cast(pl.Int64))
    by_market = dict(zip(known["market_id"].to_list(), known["close_time"].to_list(), strict=True))
    per_run = [by_market.get(market) for market in series.gather(starts).to_list()]
    microseconds = pl.Series(per_run, dtype=pl.Int64).gather(
        np.repeat(np.arange(starts.size), lengths)
    )
    return microseconds.cast(_CLOSE_TIME_TYPE)
