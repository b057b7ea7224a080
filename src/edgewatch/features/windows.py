"""Trailing windows over a frame of many series stacked one after another.

A frame sorted by (series, time) holds each series (a market, or a linked pair) as one contiguous
block. Element-wise steps — a difference with the row ``k`` earlier — run over the whole column at
once, which may read across the boundary into the previous series; every finished feature is
therefore masked once with the row's position inside its series (``POSITION``) and kept only where
all the rows it read belong to its own series (``require``).

Rolling windows run per series (``over``). Running over the whole column and masking would be
cheaper, but polars' rolling kernels carry running sums from row to row, so rounding from an
earlier series' rows — which may lie in this series' future — would reach into this one. Per
series, a value depends on nothing but its own series up to its own row: bit-for-bit causal.

Inputs to rolling windows have their leading nulls filled with 0 (those rows are masked anyway)
because polars' rolling kernels are several times slower on a column that has any null.
Windows are counted in rows (ticks); a value is null until its series has a full window.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: Helper columns: the series key, and each row's 0-based position inside its series.
SERIES = "_series"
POSITION = "_position"

#: Below this a standard deviation counts as zero: ratios over it are undefined (null).
TINY = 1e-12


def runs(series: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal values in a sorted ``series``."""
    values = series.to_numpy()
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    lengths = np.diff(np.r_[starts, values.size])
    return starts.astype(np.int64), lengths.astype(np.int64)


def positions(starts: np.ndarray, lengths: np.ndarray) -> pl.Series:
    """Each row's position inside its run, from ``runs``."""
    total = int(lengths.sum())
    return pl.Series(np.arange(total, dtype=np.int64) - np.repeat(starts, lengths))


def helper_columns(series_column: str) -> list[pl.Expr]:
    """``SERIES`` and ``POSITION`` for a frame sorted by ``series_column`` (then time)."""
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    starts = pl.col(series_column) != pl.col(series_column).shift(1)
    first = pl.when(starts.fill_null(True)).then(index).otherwise(None).forward_fill()
    return [pl.col(series_column).set_sorted().alias(SERIES), (index - first).alias(POSITION)]


def _per_series(expr: pl.Expr) -> pl.Expr:
    # The frame is sorted by series, so results can be laid out group after group ("explode").
    return expr.over(SERIES, mapping_strategy="explode")


def rolling_mean(expr: pl.Expr, window: int) -> pl.Expr:
    """Mean of the last ``window`` rows of the series."""
    return _per_series(expr.rolling_mean(window_size=window))


def require(rows: int, expr: pl.Expr) -> pl.Expr:
    """``expr`` where its series has at least ``rows`` rows up to this one, else null."""
    return pl.when(pl.col(POSITION) >= rows - 1).then(expr).otherwise(None)


def change(expr: pl.Expr, k: int) -> pl.Expr:
    """``expr`` minus its value ``k`` rows earlier (reads ``k + 1`` rows)."""
    return expr - expr.shift(k)


def rolling_std(expr: pl.Expr, window: int) -> pl.Expr:
    """Sample standard deviation (ddof 1) of the last ``window`` rows; never negative."""
    return _per_series(expr.rolling_var(window_size=window)).clip(lower_bound=0.0).sqrt()


def rolling_corr(x: pl.Expr, y: pl.Expr, window: int) -> pl.Expr:
    """Pearson correlation of the last ``window`` rows, in [-1, 1]; null if either is flat."""
    corr = _per_series(pl.rolling_corr(x, y, window_size=window))
    return corr.fill_nan(None).clip(-1.0, 1.0)


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator``, null where the denominator is (numerically) zero."""
    return pl.when(denominator.abs() > TINY).then(numerator / denominator).otherwise(None)
