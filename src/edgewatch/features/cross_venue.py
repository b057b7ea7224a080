"""Features of linked market pairs, on the pair's own timeline.

For each link the timeline is every tick time of either market; at each time both markets are
represented by their latest quote at or before it (an as-of join), so a pair value never uses a
quote from its future. The B market's mid is first put on A's scale: itself for a ``same`` link,
``1 − mid`` for a ``complement`` link (YES on one is NO on the other).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from edgewatch.features import windows

_GAP = pl.col("mid_a") - pl.col("mid_b_aligned")


def price_gap() -> pl.Expr:
    return _GAP


Helpers = dict[str, Callable[[], pl.Expr]]


def gap_mean_helper(window: int) -> Helpers:
    return {f"_gap_mean_{window}t": lambda: windows.rolling_mean(_GAP, window)}


def gap_std_helper(window: int) -> Helpers:
    return {f"_gap_std_{window}t": lambda: windows.rolling_std(_GAP, window)}


def gap_mean(window: int) -> pl.Expr:
    return windows.require(window, pl.col(f"_gap_mean_{window}t"))


def gap_zscore(window: int) -> pl.Expr:
    deviation = _GAP - pl.col(f"_gap_mean_{window}t")
    ratio = windows.safe_ratio(deviation, pl.col(f"_gap_std_{window}t"))
    return windows.require(window, ratio)


def lead_lag(window: int) -> pl.Expr:
    # A leads when A's previous move predicts B's next one better than the reverse.
    move_a = windows.change(pl.col("mid_a"), 1).fill_null(0.0)
    move_b = windows.change(pl.col("mid_b_aligned"), 1).fill_null(0.0)
    a_leads = windows.rolling_corr(move_a.shift(1).fill_null(0.0), move_b, window)
    b_leads = windows.rolling_corr(move_b.shift(1).fill_null(0.0), move_a, window)
    # The lagged move first exists at position 2; the window needs ``window`` of them.
    return windows.require(window + 2, a_leads - b_leads)


def quote_age() -> pl.Expr:
    oldest = pl.min_horizontal("quote_ts_a", "quote_ts_b")
    return (pl.col("tick_ts") - oldest).dt.total_microseconds() / 1e6
