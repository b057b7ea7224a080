"""Polymarket market-channel WebSocket frames → normalised records (pure).

``book`` → order book and tick; ``price_change`` (the batched ``price_changes`` shape and the
legacy ``changes`` shape) → level updates, plus ticks from ``best_bid``/``best_ask`` when sent;
``last_trade_price`` → trade; ``tick_size_change``; ``best_bid_ask`` → tick; ``market_resolved``
→ resolution; ``new_market`` → market. ``PONG`` replies produce nothing; an unknown
``event_type`` is quarantined as ``unknown_enum``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from edgewatch.errors import InvalidPayload
from edgewatch.venues.base import MarketRecord, TickRecord
from edgewatch.venues.polymarket.parsing import VENUE, add_book, fee_rate
from edgewatch.venues.records import (
    Batch,
    BookUpdateRecord,
    ParseResult,
    Record,
    ResolutionRecord,
    TickSizeRecord,
    TradeRecord,
    any_time,
    as_list,
    as_mapping,
    decimal_value,
    json_in_json,
    optional_bool,
    optional_probability,
    optional_str,
    optional_time,
    probability,
    required,
    required_str,
    size_value,
)
from edgewatch.venues.validation import check_tick

_CONTROL_TEXT = frozenset({"PONG", "PING"})


def _ws_time(raw: Mapping[str, Any], received_at: datetime) -> datetime:
    stamp = raw.get("timestamp")
    return received_at if stamp is None else any_time(stamp, "timestamp", milliseconds=True)


def _side(value: object) -> str:
    if value not in ("BUY", "SELL"):
        raise InvalidPayload("unknown_enum", f"unknown side {value!r}")
    return "bid" if value == "BUY" else "ask"


def _price_change(batch: Batch, frame: Mapping[str, Any], *, received_at: datetime) -> None:
    ts = _ws_time(frame, received_at)
    if "price_changes" in frame:
        changes = as_list(frame.get("price_changes"), "price_changes")
        legacy_asset = None
    else:
        changes = as_list(required(frame, "changes"), "changes")
        legacy_asset = required_str(frame, "asset_id")
    for raw in changes:

        def update(item: object) -> BookUpdateRecord:
            change = as_mapping(item, "price_change")
            return BookUpdateRecord(
                venue=VENUE,
                venue_market_id=legacy_asset or required_str(change, "asset_id"),
                ts=ts,
                side="bid" if _side(change.get("side")) == "bid" else "ask",
                price=probability(required(change, "price"), "price"),
                size=size_value(required(change, "size"), "size"),
                absolute=True,
            )

        record = batch.attempt("book_update", raw, update)
        if record is None:
            continue
        batch.add(record)
        if isinstance(raw, Mapping) and ("best_bid" in raw or "best_ask" in raw):
            best = partial(_change_tick, asset=record.venue_market_id, ts=ts)
            tick = batch.attempt("tick", raw, best)
            if tick is not None:
                batch.add(tick)


def _change_tick(raw: object, *, asset: str, ts: datetime) -> TickRecord | None:
    return _best_tick(as_mapping(raw, "price_change"), asset, ts)


def _best_tick(raw: Mapping[str, Any], asset: str, ts: datetime) -> TickRecord | None:
    # A best price of 0 (bid) or 1 (ask) is how the channel says that side is empty.
    bid = optional_probability(raw, "best_bid")
    ask = optional_probability(raw, "best_ask")
    tick = TickRecord(
        venue=VENUE,
        venue_market_id=asset,
        ts=ts,
        bid=None if bid == 0.0 else bid,
        ask=None if ask == 1.0 else ask,
    )
    if tick.bid is None and tick.ask is None:
        return None
    check_tick(tick)
    return tick


def _trade(raw: Mapping[str, Any], *, received_at: datetime) -> TradeRecord:
    side = optional_str(raw, "side")
    if side is not None and side not in ("BUY", "SELL"):
        raise InvalidPayload("unknown_enum", f"unknown side {side!r}")
    return TradeRecord(
        venue=VENUE,
        venue_market_id=required_str(raw, "asset_id"),
        ts=_ws_time(raw, received_at),
        price=probability(required(raw, "price"), "price"),
        size=size_value(required(raw, "size"), "size"),
        trade_id=optional_str(raw, "transaction_hash"),
        taker_side=None if side is None else side.lower(),
    )


def _resolution(raw: Mapping[str, Any], *, received_at: datetime) -> ResolutionRecord:
    assets = [str(asset) for asset in json_in_json(required(raw, "assets_ids"), "assets_ids")]
    winner = required_str(raw, "winning_asset_id")
    if len(assets) != 2 or winner not in assets:
        raise InvalidPayload("unknown_enum", f"winning asset {winner!r} is not one of {assets!r}")
    return ResolutionRecord(
        venue=VENUE,
        venue_market_id=assets[0],
        resolution="yes" if winner == assets[0] else "no",
        resolved_at=_ws_time(raw, received_at),
    )


def _new_market(raw: Mapping[str, Any], *, received_at: datetime) -> MarketRecord:
    tokens = raw.get("clob_token_ids", raw.get("assets_ids"))
    assets = [str(asset) for asset in json_in_json(tokens, "clob_token_ids")]
    outcomes = json_in_json(required(raw, "outcomes"), "outcomes")
    if len(assets) != 2 or len(outcomes) != 2:
        raise InvalidPayload("unsupported_outcomes", f"{len(outcomes)} outcomes, not 2")
    event = raw.get("event_message")
    event_id = optional_str(as_mapping(event, "event_message"), "id") if event else None
    tick = raw.get("order_price_min_tick_size")
    active = optional_bool(raw, "active")
    return MarketRecord(
        venue=VENUE,
        venue_market_id=assets[0],
        title=required_str(raw, "question"),
        status="closed" if active is False else "open",
        close_time=optional_time(raw, "end_date"),
        event_id=event_id,
        rules=optional_str(raw, "description"),
        fee_schedule="polymarket",
        fee_rate=fee_rate(raw),
        tick_size=float(decimal_value(tick, "order_price_min_tick_size")) if tick else 0.01,
    )


def _tick_size(raw: Mapping[str, Any], *, received_at: datetime) -> TickSizeRecord:
    size = decimal_value(required(raw, "new_tick_size"), "new_tick_size")
    if not Decimal(0) < size < Decimal(1):
        raise InvalidPayload("out_of_range", f"tick size {size} is outside (0, 1)")
    return TickSizeRecord(
        VENUE, required_str(raw, "asset_id"), _ws_time(raw, received_at), float(size)
    )


def _best_bid_ask(raw: Mapping[str, Any], *, received_at: datetime) -> TickRecord | None:
    return _best_tick(raw, required_str(raw, "asset_id"), _ws_time(raw, received_at))


def _one_frame(batch: Batch, frame: object, *, received_at: datetime) -> None:
    if isinstance(frame, str) and frame.strip().upper() in _CONTROL_TEXT:
        return
    try:
        message = as_mapping(frame, "frame")
        kind = required_str(message, "event_type")
    except InvalidPayload as exc:
        batch.reject("ws_frame", exc.reason, frame, exc.message)
        return
    if kind == "book":
        add_book(batch, message, received_at=received_at)
    elif kind == "price_change":
        batch.attempt(
            "ws_frame", message, lambda item: _price_change(batch, item, received_at=received_at)
        )
    else:
        parsers: dict[str, tuple[str, Callable[..., Record | None]]] = {
            "last_trade_price": ("trade", _trade),
            "tick_size_change": ("tick_size", _tick_size),
            "best_bid_ask": ("tick", _best_bid_ask),
            "market_resolved": ("resolution", _resolution),
            "new_market": ("market", _new_market),
        }
        if kind not in parsers:
            batch.reject("ws_frame", "unknown_enum", frame, f"unknown event_type {kind!r}")
            return
        record_kind, parse = parsers[kind]
        record = batch.attempt(
            record_kind, message, lambda item: parse(item, received_at=received_at)
        )
        if record is not None:
            batch.add(record)


def parse_ws_frame(frame: object, *, received_at: datetime) -> ParseResult:
    """One market-channel frame: an object with ``event_type``, or a list of them (the channel
    sends the initial books as one list). ``PONG`` keepalive replies produce nothing."""
    batch = Batch(VENUE)
    for item in frame if isinstance(frame, list) else [frame]:
        _one_frame(batch, item, received_at=received_at)
    return batch.result
