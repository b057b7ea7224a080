"""Kalshi WebSocket frames → normalised records (pure): ``ticker``, ``trade``,
``orderbook_snapshot`` and ``orderbook_delta``.

A frame is ``{"type", "sid", "seq", "msg": {...}}``. Snapshots and deltas keep ``seq`` so that
``book.KalshiBooks`` can spot a lost message; control frames (``subscribed``, ``ok``, ``error``)
produce nothing; any other type is quarantined as ``unknown_enum``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from edgewatch.errors import InvalidPayload
from edgewatch.venues.base import TickRecord
from edgewatch.venues.kalshi.market_data import book_record, book_tick, trade_record
from edgewatch.venues.kalshi.parsing import VENUE, count, price, quote, sizes_only_with_prices
from edgewatch.venues.records import (
    Batch,
    BookUpdateRecord,
    OrderBookRecord,
    ParseResult,
    as_mapping,
    decimal_value,
    int_value,
    optional_time,
    required,
    required_str,
)
from edgewatch.venues.validation import check_tick

_CONTROL_FRAMES = frozenset({"subscribed", "unsubscribed", "ok", "error", "list_subscriptions"})


def _ws_tick(msg: Mapping[str, Any], *, received_at: datetime) -> TickRecord | None:
    tick = TickRecord(
        venue=VENUE,
        venue_market_id=required_str(msg, "market_ticker"),
        ts=optional_time(msg, "ts") or received_at,
        bid=quote(price(msg, "yes_bid")),
        ask=quote(price(msg, "yes_ask"), is_ask=True),
        last=quote(price(msg, "price")),
        volume=count(msg, "volume"),
        bid_size=count(msg, "yes_bid_size"),
        ask_size=count(msg, "yes_ask_size"),
    )
    tick = sizes_only_with_prices(tick)
    if tick.bid is None and tick.ask is None and tick.last is None:
        return None
    check_tick(tick)
    return tick


def _delta(msg: Mapping[str, Any], *, seq: int | None, received_at: datetime) -> BookUpdateRecord:
    side = required_str(msg, "side")
    if side not in ("yes", "no"):
        raise InvalidPayload("unknown_enum", f"unknown book side {side!r}")
    level_price = price(msg, "price")
    if level_price is None:
        raise InvalidPayload("missing_field", "price is missing")
    change = msg.get("delta_fp", msg.get("delta"))
    if change is None:
        raise InvalidPayload("missing_field", "delta is missing")
    return BookUpdateRecord(
        venue=VENUE,
        venue_market_id=required_str(msg, "market_ticker"),
        ts=optional_time(msg, "ts") or received_at,
        side="yes" if side == "yes" else "no",
        price=level_price,
        size=float(decimal_value(change, "delta")),
        absolute=False,
        seq=seq,
    )


def parse_ws_frame(frame: object, *, received_at: datetime) -> ParseResult:
    """One WebSocket frame: ``ticker``, ``trade``, ``orderbook_snapshot``, ``orderbook_delta``.

    Control frames (``subscribed``, ``ok``, ``error``...) produce nothing; any other type is
    quarantined as ``unknown_enum``.
    """
    batch = Batch(VENUE)
    try:
        envelope = as_mapping(frame, "frame")
        kind = required_str(envelope, "type")
        if kind in _CONTROL_FRAMES:
            return batch.result
        msg = as_mapping(required(envelope, "msg"), "msg")
        seq_raw = envelope.get("seq")
        seq = None if seq_raw is None else int_value(seq_raw, "seq")
    except InvalidPayload as exc:
        batch.reject("ws_frame", exc.reason, frame, exc.message)
        return batch.result
    if kind == "ticker" or kind == "ticker_v2":
        tick = batch.attempt("tick", frame, lambda _: _ws_tick(msg, received_at=received_at))
        if tick is not None:
            batch.add(tick)
    elif kind == "trade":
        trade = batch.attempt(
            "trade", frame, lambda _: trade_record(msg, ticker_key="market_ticker")
        )
        if trade is not None:
            batch.add(trade)
    elif kind == "orderbook_snapshot":

        def snapshot(_: object) -> OrderBookRecord:
            return book_record(
                msg,
                market_id=required_str(msg, "market_ticker"),
                ts=optional_time(msg, "ts") or received_at,
                seq=seq,
            )

        book = batch.attempt("orderbook", frame, snapshot)
        if book is not None:
            batch.add(book)
            tick = batch.attempt("tick", frame, lambda _: book_tick(book))
            if tick is not None:
                batch.add(tick)
    elif kind == "orderbook_delta":
        delta = batch.attempt(
            "book_update", frame, lambda _: _delta(msg, seq=seq, received_at=received_at)
        )
        if delta is not None:
            batch.add(delta)
    else:
        batch.reject("ws_frame", "unknown_enum", frame, f"unknown frame type {kind!r}")
    return batch.result
