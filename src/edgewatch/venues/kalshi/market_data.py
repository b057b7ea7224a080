"""Kalshi order books, trades and candlesticks → normalised records (pure functions, no I/O).

The market-data half of the Kalshi parsers; markets, series, events and exchange status are in
``parsing``. The same contract holds: a bad record is quarantined, the rest still parses.

- Order books list bids only: the YES ask at ``1 − p`` comes from a NO bid at ``p``. Levels are
  ``[price, count]`` pairs in ``*_dollars`` / ``*_fp`` strings, or integer cents in older payloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from edgewatch.errors import InvalidPayload
from edgewatch.venues.base import TickRecord
from edgewatch.venues.kalshi.parsing import VENUE, count, price, unwrap_body
from edgewatch.venues.records import (
    Batch,
    CandleRecord,
    OrderBookRecord,
    ParseResult,
    TradeRecord,
    any_time,
    as_list,
    as_mapping,
    decimal_value,
    optional_str,
    probability,
    required,
    required_str,
    size_value,
)
from edgewatch.venues.validation import check_tick


def _levels(value: object, name: str, *, legacy_cents: bool) -> list[tuple[float, float]]:
    if value is None:
        return []
    levels = []
    for item in as_list(value, name):
        pair = as_list(item, f"{name}[]")
        if len(pair) < 2:
            raise InvalidPayload("wrong_type", f"{name} level {pair!r} is not [price, size]")
        raw_price, raw_size = pair[0], pair[1]
        if legacy_cents:
            level_price = probability(decimal_value(raw_price, name) / 100, name)
        else:
            level_price = probability(raw_price, name)
        levels.append((level_price, size_value(raw_size, name)))
    return levels


def _side(book: Mapping[str, Any], side: str) -> list[tuple[float, float]]:
    for key in (f"{side}_dollars_fp", f"{side}_dollars"):
        if book.get(key) is not None:
            return _levels(book.get(key), key, legacy_cents=False)
    return _levels(book.get(side), side, legacy_cents=True)


def book_record(
    book: Mapping[str, Any], *, market_id: str, ts: datetime, seq: int | None = None
) -> OrderBookRecord:
    """Bid-only YES/NO levels → a YES book (NO bid at p = YES ask at 1 − p)."""
    yes_bids = [level for level in _side(book, "yes") if level[1] > 0]
    no_bids = [level for level in _side(book, "no") if level[1] > 0]
    bids = sorted(yes_bids, key=lambda level: -level[0])
    asks = sorted(
        ((float(1 - Decimal(str(p))), size) for p, size in no_bids), key=lambda level: level[0]
    )
    if bids and asks and bids[0][0] > asks[0][0]:
        raise InvalidPayload(
            "crossed_book", f"best YES bid {bids[0][0]} is above best YES ask {asks[0][0]}"
        )
    return OrderBookRecord(VENUE, market_id, ts, tuple(bids), tuple(asks), seq)


def book_tick(book: OrderBookRecord) -> TickRecord | None:
    if not book.bids and not book.asks:
        return None
    tick = TickRecord(
        venue=VENUE,
        venue_market_id=book.venue_market_id,
        ts=book.ts,
        bid=book.bids[0][0] if book.bids else None,
        ask=book.asks[0][0] if book.asks else None,
        bid_size=book.bids[0][1] if book.bids else None,
        ask_size=book.asks[0][1] if book.asks else None,
    )
    check_tick(tick)
    return tick


def parse_orderbook(body: object, *, market_id: str, received_at: datetime) -> ParseResult:
    """``GET /markets/{ticker}/orderbook``: ``{"orderbook_fp": {...}}`` or legacy ``{"orderbook"}``.

    The body does not name its market, hence ``market_id``.
    """
    batch = Batch(VENUE)

    def parse(raw: object) -> OrderBookRecord:
        envelope = as_mapping(raw, "response body")
        book = envelope.get("orderbook_fp")
        if book is None:
            book = required(envelope, "orderbook")
        return book_record(as_mapping(book, "orderbook"), market_id=market_id, ts=received_at)

    record = batch.attempt("orderbook", body, parse)
    if record is not None:
        batch.add(record)
        tick = batch.attempt("tick", body, lambda _: book_tick(record))
        if tick is not None:
            batch.add(tick)
    return batch.result


def trade_record(raw: object, *, ticker_key: str = "ticker") -> TradeRecord:
    trade = as_mapping(raw, "trade")
    yes_price = price(trade, "yes_price")
    if yes_price is None and trade.get("price") is not None:
        # Oldest shape: ``price`` is already in dollars (0.06).
        yes_price = probability(trade.get("price"), "price")
    if yes_price is None:
        raise InvalidPayload("missing_field", "trade has no price")
    size = count(trade, "count")
    if size is None:
        raise InvalidPayload("missing_field", "trade has no count")
    ts_raw = trade.get("created_time", trade.get("ts"))
    if ts_raw is None:
        raise InvalidPayload("missing_field", "trade has no time")
    side = optional_str(trade, "taker_side")
    if side is not None and side not in ("yes", "no"):
        raise InvalidPayload("unknown_enum", f"unknown taker_side {side!r}")
    return TradeRecord(
        venue=VENUE,
        venue_market_id=required_str(trade, ticker_key),
        ts=any_time(ts_raw, "created_time"),
        price=yes_price,
        size=size,
        trade_id=optional_str(trade, "trade_id"),
        taker_side=side,
    )


def parse_trades(body: object) -> ParseResult:
    """``GET /markets/trades``: ``{"trades": [...], "cursor"}``."""
    batch = Batch(VENUE)
    try:
        envelope = unwrap_body(body)
        items = as_list(envelope.get("trades"), "trades")
        batch.result.cursor = optional_str(envelope, "cursor")
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result
    for raw in items:
        record = batch.attempt("trade", raw, trade_record)
        if record is not None:
            batch.add(record)
    return batch.result


def _ohlc(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return {} if value is None else as_mapping(value, key)


def candle_record(raw: object, *, market_id: str) -> CandleRecord:
    candle = as_mapping(raw, "candlestick")
    trades = _ohlc(candle, "price")
    bid = _ohlc(candle, "yes_bid")
    ask = _ohlc(candle, "yes_ask")
    record = CandleRecord(
        venue=VENUE,
        venue_market_id=market_id,
        end=any_time(required(candle, "end_period_ts"), "end_period_ts"),
        open=price(trades, "open"),
        high=price(trades, "high"),
        low=price(trades, "low"),
        close=price(trades, "close"),
        bid_close=price(bid, "close"),
        ask_close=price(ask, "close"),
        volume=count(candle, "volume"),
        open_interest=count(candle, "open_interest"),
    )
    if record.high is not None and record.low is not None and record.low > record.high:
        raise InvalidPayload("inconsistent_candle", f"low {record.low} > high {record.high}")
    return record


def parse_candlesticks(body: object, *, market_id: str | None = None) -> ParseResult:
    """``GET /series/{s}/markets/{t}/candlesticks``: ``{"ticker", "candlesticks": [...]}``."""
    batch = Batch(VENUE)
    try:
        envelope = unwrap_body(body)
        items = as_list(envelope.get("candlesticks"), "candlesticks")
        ticker = optional_str(envelope, "ticker") or market_id
        if ticker is None:
            raise InvalidPayload("missing_field", "ticker is missing")
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result
    for raw in items:
        record = batch.attempt("candle", raw, lambda item: candle_record(item, market_id=ticker))
        if record is not None:
            batch.add(record)
    return batch.result
