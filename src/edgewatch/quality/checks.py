"""Data-quality checks: pure, vectorised functions from a frame of ticks to a frame of findings.

Input: ``market_id``, ``tick_ts`` (UTC) and the quote columns ``bid``, ``ask``, ``last`` in any
order (other columns are ignored). Output: one row per finding, ``FINDING_SCHEMA``. No I/O here:
``quality.service`` feeds stored ticks and quarantined records in and stores what comes out, and
the backtest report uses ``find_gaps`` on the ticks it replays.

What each kind means (docs/data-quality.md):

* ``gap`` — two consecutive ticks of a market further apart than expected: more than
  ``gap_factor`` times the market's median spacing in the frame *and* more than ``min_gap``.
* ``stale_quote`` — the same bid, ask and last for longer than ``stale_after`` while ticks keep
  arriving: a frozen feed rather than a quiet market with no ticks at all.
* ``out_of_range`` — a price that is not a number in [0, 1].
* ``crossed_quote`` — bid above ask (both in [0, 1]; otherwise it is out of range).
* ``jump`` — the price (mid, or last when a side is missing) moves more than ``jump`` between two
  consecutive valid ticks.
* ``duplicate_timestamp`` — several ticks of one market at the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

FINDING_SCHEMA: dict[str, pl.DataType] = {
    "market_id": pl.Int64(),
    "kind": pl.String(),
    "start_ts": pl.Datetime("us", "UTC"),
    "end_ts": pl.Datetime("us", "UTC"),
    "tick_count": pl.Int64(),
    "value": pl.Float64(),
    "detail": pl.String(),
}
_PRICES = ("bid", "ask", "last")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How far data may stray before it is a finding (settings ``EDGEWATCH_QUALITY_*``)."""

    gap_factor: float = 10.0
    min_gap: timedelta = timedelta(minutes=5)
    stale_after: timedelta = timedelta(minutes=60)
    jump: float = 0.2

    @property
    def lookback(self) -> timedelta:
        """Context to read before a window so episodes crossing its start are seen whole."""
        return max(self.stale_after, self.min_gap) + timedelta(minutes=1)


def find_issues(ticks: pl.DataFrame, thresholds: Thresholds = Thresholds()) -> pl.DataFrame:
    """Every finding in ``ticks``, sorted by market, start time and kind."""
    if ticks.is_empty():
        return empty_findings()
    frame = _prepared(ticks)
    ordered = _valid_sequence(frame)
    return _sorted(
        pl.concat(
            [
                find_bad_prices(frame),
                find_duplicates(frame),
                find_gaps(frame, thresholds),
                _stale_quotes(ordered, thresholds),
                _jumps(ordered, thresholds),
            ]
        )
    )


def find_bad_prices(ticks: pl.DataFrame) -> pl.DataFrame:
    """``out_of_range`` and ``crossed_quote``: one finding per offending tick."""
    if ticks.is_empty():
        return empty_findings()
    frame = _prepared(ticks)
    bad = [
        frame.filter(~_in_range(name)).select(
            "market_id",
            pl.lit("out_of_range").alias("kind"),
            pl.col("tick_ts").alias("start_ts"),
            pl.col("tick_ts").alias("end_ts"),
            pl.lit(1, pl.Int64).alias("tick_count"),
            pl.col(name).alias("value"),
            pl.format(f"{name} {{}} is outside [0, 1]", pl.col(name)).alias("detail"),
        )
        for name in _PRICES
    ]
    crossed = frame.filter(_crossed()).select(
        "market_id",
        pl.lit("crossed_quote").alias("kind"),
        pl.col("tick_ts").alias("start_ts"),
        pl.col("tick_ts").alias("end_ts"),
        pl.lit(1, pl.Int64).alias("tick_count"),
        pl.col("bid").alias("value"),
        pl.format("bid {} is above ask {}", pl.col("bid"), pl.col("ask")).alias("detail"),
    )
    # One tick with a price out of range on two sides is one tick: keep its first finding.
    found = pl.concat([*bad, crossed]).unique(["market_id", "kind", "start_ts"], keep="first")
    return _sorted(found)


def find_duplicates(ticks: pl.DataFrame) -> pl.DataFrame:
    """``duplicate_timestamp``: one finding per market and instant holding several ticks."""
    if ticks.is_empty():
        return empty_findings()
    counted = (
        _prepared(ticks)
        .group_by("market_id", "tick_ts")
        .agg(pl.len().cast(pl.Int64).alias("tick_count"))
        .filter(pl.col("tick_count") > 1)
    )
    return _sorted(
        counted.select(
            "market_id",
            pl.lit("duplicate_timestamp").alias("kind"),
            pl.col("tick_ts").alias("start_ts"),
            pl.col("tick_ts").alias("end_ts"),
            "tick_count",
            pl.col("tick_count").cast(pl.Float64).alias("value"),
            pl.format("{} ticks at the same time", pl.col("tick_count")).alias("detail"),
        )
    )


def find_gaps(ticks: pl.DataFrame, thresholds: Thresholds = Thresholds()) -> pl.DataFrame:
    """``gap``: consecutive ticks of a market further apart than expected (see the module doc)."""
    if ticks.is_empty():
        return empty_findings()
    spaced = (
        _prepared(ticks)
        .select("market_id", "tick_ts")
        .unique()
        .sort("market_id", "tick_ts")
        .with_columns(pl.col("tick_ts").shift(1).over("market_id").alias("previous"))
        .with_columns(
            ((pl.col("tick_ts") - pl.col("previous")).dt.total_microseconds() / 1e6).alias("gap")
        )
        .with_columns(pl.col("gap").median().over("market_id").alias("usual"))
    )
    limit = pl.max_horizontal(
        pl.col("usual") * thresholds.gap_factor, pl.lit(thresholds.min_gap.total_seconds())
    )
    return _sorted(
        spaced.filter(pl.col("gap") > limit).select(
            "market_id",
            pl.lit("gap").alias("kind"),
            pl.col("previous").alias("start_ts"),
            pl.col("tick_ts").alias("end_ts"),
            pl.lit(2, pl.Int64).alias("tick_count"),
            pl.col("gap").alias("value"),
            pl.format(
                "no tick for {} s (usually every {} s)",
                pl.col("gap").round(0).cast(pl.Int64),
                pl.col("usual").round(1),
            ).alias("detail"),
        )
    )


def _stale_quotes(ordered: pl.DataFrame, thresholds: Thresholds) -> pl.DataFrame:
    changed = pl.any_horizontal(
        [pl.col(name).ne_missing(pl.col(name).shift(1).over("market_id")) for name in _PRICES]
    )
    first_of_market = pl.col("market_id") != pl.col("market_id").shift(1)
    runs = (
        ordered.with_columns((changed | first_of_market.fill_null(True)).cum_sum().alias("run"))
        .group_by("run")
        .agg(
            pl.col("market_id").first(),
            pl.col("tick_ts").min().alias("start_ts"),
            pl.col("tick_ts").max().alias("end_ts"),
            pl.len().cast(pl.Int64).alias("tick_count"),
        )
        .with_columns(
            ((pl.col("end_ts") - pl.col("start_ts")).dt.total_microseconds() / 1e6).alias("value")
        )
    )
    return runs.filter(
        (pl.col("tick_count") > 1) & (pl.col("value") > thresholds.stale_after.total_seconds())
    ).select(
        "market_id",
        pl.lit("stale_quote").alias("kind"),
        "start_ts",
        "end_ts",
        "tick_count",
        "value",
        pl.format(
            "quote unchanged for {} s over {} ticks",
            pl.col("value").round(0).cast(pl.Int64),
            pl.col("tick_count"),
        ).alias("detail"),
    )


def _jumps(ordered: pl.DataFrame, thresholds: Thresholds) -> pl.DataFrame:
    price = pl.coalesce((pl.col("bid") + pl.col("ask")) / 2, pl.col("last"))
    moves = (
        ordered.with_columns(price.alias("price"))
        .filter(pl.col("price").is_not_null())
        .with_columns(
            pl.col("tick_ts").shift(1).over("market_id").alias("previous"),
            (pl.col("price") - pl.col("price").shift(1).over("market_id")).alias("move"),
        )
    )
    return moves.filter(pl.col("move").abs() > thresholds.jump).select(
        "market_id",
        pl.lit("jump").alias("kind"),
        pl.col("previous").alias("start_ts"),
        pl.col("tick_ts").alias("end_ts"),
        pl.lit(2, pl.Int64).alias("tick_count"),
        pl.col("move").alias("value"),
        pl.format("price moved {} between two ticks", pl.col("move").round(4)).alias("detail"),
    )


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


def _prepared(ticks: pl.DataFrame) -> pl.DataFrame:
    """The columns the checks read, typed; missing quote columns count as empty."""
    columns = [
        pl.col("market_id").cast(pl.Int64),
        pl.col("tick_ts").cast(pl.Datetime("us", "UTC")),
    ]
    for name in _PRICES:
        column = pl.col(name) if name in ticks.columns else pl.lit(None)
        columns.append(column.cast(pl.Float64).alias(name))
    return ticks.select(columns)


def _in_range(name: str) -> pl.Expr:
    value = pl.col(name)
    return value.is_null() | (value.is_finite() & (value >= 0) & (value <= 1))


def _crossed() -> pl.Expr:
    # A side outside [0, 1] (or NaN, which polars orders above every number) is reported as out
    # of range, not also as crossed: one bad tick, one finding.
    both = _in_range("bid") & _in_range("ask")
    return (both & (pl.col("bid") > pl.col("ask"))).fill_null(False)


def _valid_sequence(frame: pl.DataFrame) -> pl.DataFrame:
    """Ticks in time order per market, without bad prices or repeated instants.

    Staleness and jumps are about honest quotes: a corrupt tick is reported as such, not also as
    the jump into it and out of it.
    """
    valid = pl.all_horizontal([_in_range(name) for name in _PRICES]) & ~_crossed()
    return (
        frame.filter(valid)
        .unique(["market_id", "tick_ts"], keep="first", maintain_order=True)
        .sort("market_id", "tick_ts")
    )


def _sorted(findings: pl.DataFrame) -> pl.DataFrame:
    return findings.select(pl.col(name).cast(dtype) for name, dtype in FINDING_SCHEMA.items()).sort(
        "market_id", "start_ts", "kind"
    )
