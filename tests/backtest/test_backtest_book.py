"""Point-in-time quote lookups against a brute-force scan."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from edgewatch.backtest.book import QuoteBook, to_us
from edgewatch.backtest.engine import prepare_ticks

from .support import tick_frame


@pytest.mark.parametrize("id_base", [1, 10**12, -5])
def test_lookups_match_a_scan(id_base: int) -> None:
    rng = np.random.default_rng(id_base % 97)
    rows = [
        (int(id_base + rng.integers(0, 5)), float(rng.integers(0, 300)), 0.4, 0.5, 1.0, 1.0)
        for _ in range(400)
    ]
    frame = prepare_ticks(tick_frame(rows))
    book = QuoteBook(frame)
    markets = frame.get_column("market_id").to_numpy()
    times = np.array([to_us(t) for t in frame.get_column("tick_ts").to_list()])
    queries_m = np.array([id_base + m for m in rng.integers(-1, 6, 200)], dtype=np.int64)
    queries_t = rng.integers(times.min() - 5_000_000, times.max() + 5_000_000, 200)
    after = book.rows_at_or_after(queries_m, queries_t)
    before = book.rows_at_or_before(queries_m, queries_t)
    for m, t, a, b in zip(queries_m, queries_t, after, before, strict=True):
        mine = np.flatnonzero(markets == m)
        later = mine[times[mine] >= t]
        earlier = mine[times[mine] <= t]
        assert a == (later[0] if len(later) else -1)
        assert b == (earlier[-1] if len(earlier) else -1)


def test_quote_reads_the_row() -> None:
    frame = prepare_ticks(tick_frame([(7, 3.0, 0.41, 0.43, 10.0, 20.0)]))
    quote = QuoteBook(frame).quote(0)
    assert (quote.market_id, quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (
        7,
        0.41,
        0.43,
        10.0,
        20.0,
    )
    assert isinstance(frame, pl.DataFrame)
