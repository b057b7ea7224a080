"""Fast point-in-time quote lookups over a whole tick history.

The replay needs two questions answered many times: *the first quote of market m at or after t*
(where an order fills) and *the last quote at or before t* (what a position is worth, what the
market thought when a signal fired). Rows are kept sorted by (market, time) under one int64 key,
``code × span + (t − t0)`` in microseconds, so both are a binary search, and the second one is
vectorised over many markets at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


class QuoteBook:
    """Every quote of a tick frame (``TICK_SCHEMA``), indexed by market and time."""

    def __init__(self, ticks: pl.DataFrame) -> None:
        frame = ticks.sort(["market_id", "tick_ts"], maintain_order=True)
        market = frame.get_column("market_id").to_numpy()
        ts = frame.get_column("tick_ts").dt.epoch("us").to_numpy().astype(np.int64)
        self.size = len(frame)
        starts = (
            np.flatnonzero(np.r_[True, market[1:] != market[:-1]])
            if self.size
            else np.array([], np.int64)
        )
        self._starts: IntArray = starts.astype(np.int64)
        self._ends: IntArray = np.r_[starts[1:], self.size].astype(np.int64)
        self._code = {int(m): i for i, m in enumerate(market[starts])}
        self.t0 = int(ts.min()) if self.size else 0
        self.span = (int(ts.max()) - self.t0 + 1) if self.size else 1
        if len(starts) * self.span >= 2**62:
            raise InvalidInput("tick history too long for the quote index")
        codes = np.repeat(np.arange(len(starts), dtype=np.int64), self._ends - self._starts)
        self._key: IntArray = codes * self.span + (ts - self.t0)
        self._ts: IntArray = ts
        self._market = market
        self._bid = _floats(frame, "bid")
        self._ask = _floats(frame, "ask")
        self._bid_size = _floats(frame, "bid_size")
        self._ask_size = _floats(frame, "ask_size")

    def _offset(self, t_us: int) -> int:
        return min(max(t_us - self.t0, 0), self.span - 1)

    def first_at_or_after(self, market_id: int, t_us: int) -> int | None:
        """Row index of the market's first quote at or after ``t_us``, or ``None``."""
        code = self._code.get(market_id)
        if code is None or t_us - self.t0 >= self.span:
            return None
        row = int(np.searchsorted(self._key, code * self.span + self._offset(t_us), "left"))
        return row if row < self._ends[code] else None

    def last_at_or_before(self, market_id: int, t_us: int) -> int | None:
        """Row index of the market's last quote at or before ``t_us``, or ``None``."""
        code = self._code.get(market_id)
        if code is None or t_us < self.t0:
            return None
        row = int(np.searchsorted(self._key, code * self.span + self._offset(t_us), "right")) - 1
        return row if row >= self._starts[code] else None

    def last_mids(self, market_ids: list[int], t_us: int) -> FloatArray:
        """YES mid of each market's last quote at or before ``t_us`` (NaN where there is none)."""
        codes = np.array([self._code.get(m, -1) for m in market_ids], dtype=np.int64)
        mids = np.full(len(market_ids), np.nan)
        known = codes >= 0
        if t_us < self.t0 or not known.any():
            return mids
        keys = codes[known] * self.span + self._offset(t_us)
        rows = np.searchsorted(self._key, keys, "right") - 1
        valid = rows >= self._starts[codes[known]]
        rows = np.where(valid, rows, 0)
        found = np.where(valid, (self._bid[rows] + self._ask[rows]) / 2, np.nan)
        mids[known] = found
        return mids

    def mid(self, row: int) -> float | None:
        value = (self._bid[row] + self._ask[row]) / 2
        return None if np.isnan(value) else float(value)

    def time_us(self, row: int) -> int:
        return int(self._ts[row])

    def quote(self, row: int) -> Quote:
        def value(array: FloatArray) -> float | None:
            item = float(array[row])
            return None if np.isnan(item) else item

        return Quote(
            market_id=int(self._market[row]),
            ts=from_us(int(self._ts[row])),
            bid=value(self._bid),
            ask=value(self._ask),
            bid_size=value(self._bid_size),
            ask_size=value(self._ask_size),
        )
