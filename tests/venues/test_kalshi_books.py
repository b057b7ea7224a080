"""Kalshi books from snapshots and deltas, with sequence-gap detection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from edgewatch.venues.base import TickRecord
from edgewatch.venues.kalshi.book import KalshiBooks
from edgewatch.venues.records import OrderBookRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def snapshot(seq: int, market: str = "M", sid: int = 1) -> dict[str, Any]:
    return {
        "type": "orderbook_snapshot",
        "sid": sid,
        "seq": seq,
        "msg": {
            "market_ticker": market,
            "yes_dollars_fp": [["0.40", "10.00"], ["0.42", "5.00"]],
            "no_dollars_fp": [["0.55", "7.00"]],
        },
    }


def delta(seq: int, side: str, price: str, change: str, sid: int = 1) -> dict[str, Any]:
    return {
        "type": "orderbook_delta",
        "sid": sid,
        "seq": seq,
        "msg": {"market_ticker": "M", "side": side, "price_dollars": price, "delta_fp": change},
    }


def test_deltas_update_the_yes_book_and_its_tick() -> None:
    books = KalshiBooks()
    books.feed(snapshot(1), received_at=NOW)
    feed = books.feed(delta(2, "yes", "0.42", "-5.00"), received_at=NOW)
    book, tick = feed.result.records
    assert isinstance(book, OrderBookRecord) and isinstance(tick, TickRecord)
    assert book.bids == ((0.4, 10.0),)
    assert book.asks == ((0.45, 7.0),)
    assert (tick.bid, tick.ask) == (0.4, 0.45)
    feed = books.feed(delta(3, "no", "0.58", "2.00"), received_at=NOW)
    assert feed.result.records[0].asks[0] == (0.42, 2.0)  # type: ignore[union-attr]
    assert feed.gaps == []


def test_a_sequence_gap_marks_the_subscription_stale_until_a_new_snapshot() -> None:
    books = KalshiBooks()
    books.feed(snapshot(1), received_at=NOW)
    feed = books.feed(delta(3, "yes", "0.41", "1.00"), received_at=NOW)
    assert feed.gaps == [1] and feed.result.records == []
    assert books.feed(delta(4, "yes", "0.41", "1.00"), received_at=NOW).result.records == []
    books.feed(snapshot(10), received_at=NOW)
    feed = books.feed(delta(11, "yes", "0.41", "1.00"), received_at=NOW)
    assert feed.gaps == [] and feed.result.records


def test_delta_before_any_snapshot_asks_for_one() -> None:
    feed = KalshiBooks().feed(delta(5, "yes", "0.41", "1.00"), received_at=NOW)
    assert feed.gaps == [1]


def test_a_delta_that_crosses_the_book_is_quarantined() -> None:
    books = KalshiBooks()
    books.feed(snapshot(1), received_at=NOW)
    feed = books.feed(delta(2, "yes", "0.50", "3.00"), received_at=NOW)  # 0.50 > ask 0.45
    assert feed.result.records == []
    assert feed.result.rejected[0].reason.startswith("crossed_book")
    assert feed.gaps == [1]
