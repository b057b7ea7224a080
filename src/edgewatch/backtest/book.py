"""Fast point-in-time quote lookups over a whole tick history.

The replay needs two questions answered many times: *the first quote of market m at or after t*
(where an order fills) and *the last quote at or before t* (what a position is worth, what the
market thought when a signal fired). Rows are kept sorted by (market, time) under one int64 key,
``code × span + (t − t0)`` in microseconds, so both are a binary search, and the second one is
vectorised over many markets at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from edgewatch.backtest.fills import Quote
from edgewatch.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    if value.tzinfo is None:
        raise InvalidInput("timestamps must be timezone-aware (UTC)")
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


def _floats(frame: pl.DataFrame, name: str) -> FloatArray:
    return frame.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()


def market_codes(market_ids: IntArray) -> tuple[npt.NDArray[np.integer[Any]], IntArray]:
    """Dense codes 0..k−1 for market ids (in id order), and the ids; uint16 when they fit.

    Small unsigned codes let numpy's stable argsort use radix sort: grouping ticks by market
    is then linear in the number of ticks.
    """
    ids = np.sort(np.asarray(pl.Series(market_ids).unique().to_numpy(), dtype=np.int64))
    dtype = np.uint16 if len(ids) < 2**16 else np.int64
    if len(ids) and ids[0] >= 0 and ids[-1] < 4 * len(market_ids) + 1_000_000:
        # Ids are small integers (database keys): a lookup table beats a binary search.
        table: npt.NDArray[np.integer[Any]] = np.zeros(int(ids[-1]) + 1, dtype=dtype)
        table[ids] = np.arange(len(ids), dtype=dtype)
        codes: npt.NDArray[np.integer[Any]] = table[market_ids]
        return codes, ids
    return np.searchsorted(ids, market_ids).astype(dtype), ids


def group_by_market(codes: npt.NDArray[np.integer[Any]]) -> IntArray:
    """Row order that groups rows by market, keeping each market's rows in their given order."""
    return np.asarray(np.argsort(codes, kind="stable"), dtype=np.int64)


class QuoteBook:
    """Every quote of a time-sorted tick frame (``TICK_SCHEMA``), indexed by market and time.

    Row numbers, in and out, are positions in that time-sorted frame.
    """

    def __init__(
        self,
        ticks: pl.DataFrame,
        coded: tuple[npt.NDArray[np.integer[Any]], IntArray] | None = None,
    ) -> None:
        """``ticks`` sorted by ``tick_ts``; ``coded`` is ``market_codes(market ids)`` if known."""
        market = np.asarray(ticks.get_column("market_id").to_numpy(), dtype=np.int64)
        codes, ids = market_codes(market) if coded is None else coded
        self.size = len(ticks)
        ts = np.asarray(ticks.get_column("tick_ts").dt.epoch("us").to_numpy(), dtype=np.int64)
        counts = np.bincount(codes, minlength=len(ids)).astype(np.int64)
        self._ends: IntArray = np.cumsum(counts)
        self._starts: IntArray = self._ends - counts
        self._code = {int(m): i for i, m in enumerate(ids)}
        self.t0 = int(ts[0]) if self.size else 0
        self.span = (int(ts[-1]) - self.t0 + 1) if self.size else 1
        if len(ids) * self.span >= 2**62:
            raise InvalidInput("tick history too long for the quote index")
        # Only the key and the permutation are held in (market, time) order; prices stay in the
        # frame's time order and are read through the permutation.
        self._order: IntArray = group_by_market(codes)
        self._key: IntArray = (codes.astype(np.int64) * self.span + (ts - self.t0))[self._order]
        self._ts: IntArray = ts
        self._market: IntArray = market
        self._bid = _floats(ticks, "bid")
        self._ask = _floats(ticks, "ask")
        self._bid_size = _floats(ticks, "bid_size")
        self._ask_size = _floats(ticks, "ask_size")

    def _keys(self, market_ids: IntArray, t_us: IntArray) -> tuple[IntArray, IntArray]:
        codes = np.array([self._code.get(int(m), -1) for m in market_ids], dtype=np.int64)
        offsets = np.clip(t_us - self.t0, 0, self.span - 1)
        return codes, np.maximum(codes, 0) * self.span + offsets

    def rows_at_or_after(self, market_ids: IntArray, t_us: IntArray) -> IntArray:
        """Row of each market's first quote at or after its time; −1 where there is none."""
        codes, keys = self._keys(market_ids, t_us)
        found = np.searchsorted(self._key, keys, "left").astype(np.int64)
        ends = self._ends[np.maximum(codes, 0)] if len(self._ends) else np.zeros_like(codes)
        ok = (codes >= 0) & (t_us - self.t0 < self.span) & (found < ends)
        return np.where(ok, self._order[np.where(ok, found, 0)], -1)

    def rows_at_or_before(self, market_ids: IntArray, t_us: IntArray) -> IntArray:
        """Row of each market's last quote at or before its time; −1 where there is none."""
        codes, keys = self._keys(market_ids, t_us)
        found = np.searchsorted(self._key, keys, "right").astype(np.int64) - 1
        starts = self._starts[np.maximum(codes, 0)] if len(self._starts) else np.zeros_like(codes)
        ok = (codes >= 0) & (t_us >= self.t0) & (found >= starts)
        return np.where(ok, self._order[np.where(ok, found, 0)], -1)

    def mids(self, rows: IntArray) -> FloatArray:
        """YES mid of each row (NaN for −1)."""
        safe = np.maximum(rows, 0)
        found = (self._bid[safe] + self._ask[safe]) / 2
        return np.where(rows >= 0, found, np.nan)

    def last_mids(self, market_ids: Sequence[int], t_us: int) -> FloatArray:
        """YES mid of each market's last quote at or before ``t_us`` (NaN where there is none)."""
        ids = np.asarray(market_ids, dtype=np.int64)
        return self.mids(self.rows_at_or_before(ids, np.full(len(ids), t_us, dtype=np.int64)))

    def time_us(self, row: int) -> int:
        return int(self._ts.item(row))

    def quote(self, row: int) -> Quote:
        def value(array: FloatArray) -> float | None:
            item: float = array.item(row)
            return None if item != item else item  # NaN: not shown

        return Quote(
            market_id=int(self._market.item(row)),
            ts=from_us(int(self._ts.item(row))),
            bid=value(self._bid),
            ask=value(self._ask),
            bid_size=value(self._bid_size),
            ask_size=value(self._ask_size),
        )
