"""Per-market feature expressions over the tick frame (``TICK_SCHEMA``, one series per market).

Each function returns one polars expression. Expressions of stage 0 read the raw quote columns;
later stages read the ``mid`` column that stage 0 produced. All of them read only the current row
and earlier rows of the same market (see ``windows``), so no value depends on the future.

Price changes are differences in probability, not ratios: a move from 0.01 to 0.02 is one cent of
expected payout, not a 100 % return, and ratios blow up near the bounds where these markets live.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import polars as pl

from edgewatch.features import windows

#: Helper column holding each tick's market close time (joined from the markets frame).
CLOSE_TIME = "_close_time"

_MID = pl.col("mid")


def mid() -> pl.Expr:
    """Middle of the quoted bid and ask; the last trade price when a side is missing."""
    both = pl.col("bid").is_not_null() & pl.col("ask").is_not_null()
    return pl.when(both).then((pl.col("bid") + pl.col("ask")) / 2.0).otherwise(pl.col("last"))


def spread() -> pl.Expr:
    return pl.col("ask") - pl.col("bid")


def time_to_close() -> pl.Expr:
    return (pl.col(CLOSE_TIME) - pl.col("tick_ts")).dt.total_microseconds() / 1e6


def volume_traded(window: int) -> pl.Expr:
    # The tick's volume is cumulative, so what traded over a window is its difference.
    return windows.require(window + 1, windows.change(pl.col("volume"), window))


def volume_change(window: int) -> pl.Expr:
    recent = windows.change(pl.col("volume"), window).clip(lower_bound=0.0)
    prior = recent.shift(window)
    return windows.require(2 * window + 1, recent.log1p() - prior.log1p())


def distance_from_bound() -> pl.Expr:
    return pl.min_horizontal(_MID, 1.0 - _MID)


def mid_return(horizon: int) -> pl.Expr:
    return windows.require(horizon + 1, windows.change(_MID, horizon))


Helpers = dict[str, Callable[[], pl.Expr]]


# Rolling statistics are materialised once as helper columns (see ``compute``): each is one
# per-market pass, and several features read the same one.
def move_std_helper(window: int) -> Helpers:
    moves = windows.change(_MID, 1).fill_null(0.0)
    return {f"_move_std_{window}t": lambda: windows.rolling_std(moves, window)}


def mid_mean_helper(window: int) -> Helpers:
    return {f"_mid_mean_{window}t": lambda: windows.rolling_mean(_MID, window)}


def mid_std_helper(window: int) -> Helpers:
    return {f"_mid_std_{window}t": lambda: windows.rolling_std(_MID, window)}


def volatility(window: int) -> pl.Expr:
    return windows.require(window + 1, pl.col(f"_move_std_{window}t"))


def momentum(window: int) -> pl.Expr:
    # The move over the window in units of what noise alone would move it: a t-statistic.
    expected_noise = pl.col(f"_move_std_{window}t") * math.sqrt(window)
    ratio = windows.safe_ratio(windows.change(_MID, window), expected_noise)
    return windows.require(window + 1, ratio)


def mid_mean(window: int) -> pl.Expr:
    return windows.require(window, pl.col(f"_mid_mean_{window}t"))


def mid_zscore(window: int) -> pl.Expr:
    deviation = _MID - pl.col(f"_mid_mean_{window}t")
    ratio = windows.safe_ratio(deviation, pl.col(f"_mid_std_{window}t"))
    return windows.require(window, ratio)
