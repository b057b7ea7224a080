"""Kalshi order books kept current from ``orderbook_snapshot`` + ``orderbook_delta`` frames.

Kalshi numbers the messages of each subscription (``sid``) with ``seq``, one apart. A jump means
a message was lost: every book of that subscription is then stale until a new snapshot arrives,
and ``BookFeed.gaps`` names the subscription so the stream can resubscribe (which makes Kalshi
send fresh snapshots). Deltas for a book without a snapshot are reported the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from edgewatch.venues.kalshi.frames import parse_ws_frame
from edgewatch.venues.kalshi.market_data import book_tick
from edgewatch.venues.kalshi.parsing import VENUE
from edgewatch.venues.records import Batch, BookUpdateRecord, OrderBookRecord, ParseResult


@dataclass(slots=True)
class BookFeed:
    result: ParseResult
    #: Subscriptions whose books are stale: resubscribe to get new snapshots.
    gaps: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Book:
    sid: int | None
    yes: dict[Decimal, Decimal]
    no: dict[Decimal, Decimal]


class KalshiBooks:
    """The live YES books of one WebSocket connection."""

    def __init__(self) -> None:
        self._books: dict[str, _Book] = {}
        self._seq: dict[int, int] = {}
        self._stale: set[int] = set()

    def feed(self, frame: object, *, received_at: datetime) -> BookFeed:
        """Apply one frame; returns the changed books (and their ticks), rejections and gaps.

        Frames other than order-book frames pass through as parsed.
        """
        parsed = parse_ws_frame(frame, received_at=received_at)
        sid = _int(frame, "sid")
        batch = Batch(VENUE)
        batch.result.rejected.extend(parsed.rejected)
        feed = BookFeed(batch.result)
        for record in parsed.records:
            if isinstance(record, OrderBookRecord):
                self._snapshot(record, sid)
                feed.result.records.append(record)
            elif isinstance(record, BookUpdateRecord):
                book = self._delta(record, sid, feed)
                if book is None:
                    continue
                if book.bids and book.asks and book.bids[0][0] > book.asks[0][0]:
                    # A crossed book means our copy drifted from Kalshi's: start again.
                    batch.reject("orderbook", "crossed_book", frame, "book crossed after delta")
                    self._mark_stale(sid, feed)
                    continue
                feed.result.records.append(book)
                tick = book_tick(book)
                if tick is not None:
                    feed.result.records.append(tick)
            else:
                feed.result.records.append(record)
        return feed

    def _snapshot(self, book: OrderBookRecord, sid: int | None) -> None:
        yes = {Decimal(str(p)): Decimal(str(s)) for p, s in book.bids}
        no = {1 - Decimal(str(p)): Decimal(str(s)) for p, s in book.asks}
        self._books[book.venue_market_id] = _Book(sid, yes, no)
        if sid is not None and book.seq is not None:
            self._seq[sid] = book.seq
            self._stale.discard(sid)

    def _delta(
        self, update: BookUpdateRecord, sid: int | None, feed: BookFeed
    ) -> OrderBookRecord | None:
        if sid is not None and update.seq is not None:
            expected = self._seq.get(sid)
            self._seq[sid] = update.seq
            if expected is not None and update.seq != expected + 1:
                self._mark_stale(sid, feed)
        book = self._books.get(update.venue_market_id)
        if book is None or (sid is not None and sid in self._stale):
            self._mark_stale(sid, feed)
            return None
        levels = book.yes if update.side == "yes" else book.no
        price = Decimal(str(update.price))
        size = levels.get(price, Decimal(0)) + Decimal(str(update.size))
        if size > 0:
            levels[price] = size
        else:
            levels.pop(price, None)
        return _yes_book(update.venue_market_id, book, update.ts, update.seq)

    def _mark_stale(self, sid: int | None, feed: BookFeed) -> None:
        if sid is None:
            return
        self._stale.add(sid)
        for market, book in list(self._books.items()):
            if book.sid == sid:
                del self._books[market]
        if sid not in feed.gaps:
            feed.gaps.append(sid)


def _yes_book(market: str, book: _Book, ts: datetime, seq: int | None) -> OrderBookRecord:
    bids = sorted(((float(p), float(s)) for p, s in book.yes.items()), key=lambda lv: -lv[0])
    asks = sorted(((float(1 - p), float(s)) for p, s in book.no.items()), key=lambda lv: lv[0])
    return OrderBookRecord(VENUE, market, ts, tuple(bids), tuple(asks), seq)


def _int(frame: object, key: str) -> int | None:
    value = frame.get(key) if isinstance(frame, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
