"""Polymarket Gamma, CLOB and market-channel WebSocket payloads → normalised records (pure).

Identity: a Polymarket market is keyed by the CLOB token id of its first outcome (``Yes`` on a
yes/no market). YES means "the first outcome wins"; when that outcome is not ``Yes`` its name is
appended to the title (``"FaZe vs illwill — FaZe"``). Every CLOB and WebSocket message is per
token, so ticks are keyed the same way without any lookup; messages about the second outcome's
token are keyed by that token (subscribe to first-outcome tokens: the other book mirrors it).

Wire facts handled here:

- Gamma's ``outcomes``, ``outcomePrices`` and ``clobTokenIds`` are JSON strings inside JSON.
- Book levels arrive in no promised order: the best bid is the highest, the best ask the lowest.
- Lifecycle: open (active, not closed) → closed → pending_resolution (closed, and the outcome
  prices not final or the UMA resolution only proposed or disputed) → resolved yes/no (prices
  1/0 or 0/1) or void (50/50), with the resolution time from ``closedTime``, else ``umaEndDate``.
- Fees: ``feeSchedule.rate`` when its ``exponent`` is 1 (the formula ``venues.fees`` implements),
  0 when ``feesEnabled`` is false, otherwise unknown (``None``: no trade signals).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from edgewatch.errors import InvalidPayload
from edgewatch.venues.base import MarketRecord, MarketStatus, Resolution, TickRecord
from edgewatch.venues.records import (
    Batch,
    EventRecord,
    OrderBookRecord,
    ParseResult,
    PricePointRecord,
    any_time,
    as_list,
    as_mapping,
    decimal_value,
    epoch_time,
    json_in_json,
    optional_bool,
    optional_probability,
    optional_size,
    optional_str,
    optional_time,
    probability,
    required,
    required_str,
    size_value,
)
from edgewatch.venues.validation import check_tick

VENUE = "polymarket"


# --- markets and events --------------------------------------------------------------------------


def fee_rate(raw: Mapping[str, Any]) -> Decimal | None:
    """The taker fee rate, or ``None`` when the market's fee terms are unknown."""
    schedule = raw.get("feeSchedule", raw.get("fee_schedule"))
    if schedule is not None:
        schedule = as_mapping(schedule, "feeSchedule")
        exponent = schedule.get("exponent")
        if exponent is not None and decimal_value(exponent, "feeSchedule.exponent") != 1:
            return None
        rate = decimal_value(required(schedule, "rate"), "feeSchedule.rate")
        if not Decimal(0) <= rate <= Decimal(1):
            raise InvalidPayload("out_of_range", f"feeSchedule.rate {rate} is outside [0, 1]")
        return rate
    if optional_bool(raw, "feesEnabled") is False:
        return Decimal(0)
    return None


def _outcome_state(
    closed: bool, prices: list[float] | None, uma_status: str | None
) -> tuple[MarketStatus, Resolution | None]:
    if not closed:
        return "open", None
    if uma_status is not None and uma_status != "resolved":
        return "pending_resolution", None  # proposed or disputed: the outcome may still change
    if prices is not None and len(prices) == 2:
        if prices == [1.0, 0.0]:
            return "resolved", "yes"
        if prices == [0.0, 1.0]:
            return "resolved", "no"
        if prices == [0.5, 0.5] and uma_status == "resolved":
            return "void", "void"
    return "pending_resolution", None


def gamma_market_record(
    raw: object, *, event_id: str | None = None, category: str | None = None
) -> MarketRecord:
    """One Gamma market (``GET /markets`` element, ``GET /markets/{id}``)."""
    market = as_mapping(raw, "market")
    title = required_str(market, "question")
    token_ids = json_in_json(required(market, "clobTokenIds"), "clobTokenIds")
    tokens = [str(token).strip() for token in token_ids]
    if not all(tokens):
        # The first token id becomes the market's key; an empty one would merge unrelated markets.
        raise InvalidPayload("missing_field", "clobTokenIds holds an empty token id")
    outcomes = json_in_json(required(market, "outcomes"), "outcomes")
    if len(tokens) != 2 or len(outcomes) != 2:
        raise InvalidPayload("unsupported_outcomes", f"{len(outcomes)} outcomes, not 2")
    prices_raw = market.get("outcomePrices")
    prices = None
    if prices_raw is not None:
        prices = [
            probability(value, "outcomePrices")
            for value in json_in_json(prices_raw, "outcomePrices")
        ]
    closed = optional_bool(market, "closed") or False
    active = optional_bool(market, "active")
    status, resolution = _outcome_state(closed, prices, optional_str(market, "umaResolutionStatus"))
    if status == "open" and active is False:
        status = "closed"
    resolved_at = None
    if resolution is not None:
        resolved_at = optional_time(market, "closedTime") or optional_time(market, "umaEndDate")
        if resolved_at is None:
            raise InvalidPayload("missing_field", "resolved market has no resolution time")
    events = market.get("events")
    if event_id is None and isinstance(events, list) and events:
        event_id = optional_str(as_mapping(events[0], "events[]"), "id")
    tick = market.get("orderPriceMinTickSize")
    rate = fee_rate(market)
    first_outcome = str(outcomes[0]).strip()
    if first_outcome and first_outcome.lower() != "yes":
        # YES here means "the first outcome wins": say which, or "Up or Down" reads as nothing.
        title = f"{title} — {first_outcome}"
    return MarketRecord(
        venue=VENUE,
        venue_market_id=tokens[0],
        title=title,
        status=status,
        close_time=optional_time(market, "endDate"),
        event_id=event_id,
        category=optional_str(market, "category") or category,
        rules=optional_str(market, "description"),
        resolution=resolution,
        resolved_at=resolved_at,
        fee_schedule="polymarket",
        fee_rate=rate,
        tick_size=float(decimal_value(tick, "orderPriceMinTickSize")) if tick else 0.01,
    )


def gamma_market_tick(raw: object, *, market_id: str, received_at: datetime) -> TickRecord | None:
    market = as_mapping(raw, "market")
    bid = optional_probability(market, "bestBid")
    ask = optional_probability(market, "bestAsk")
    tick = TickRecord(
        venue=VENUE,
        venue_market_id=market_id,
        ts=optional_time(market, "updatedAt") or received_at,
        # Gamma reports an empty side as a best bid of 0 or a best ask of 1.
        bid=None if bid == 0.0 else bid,
        ask=None if ask == 1.0 else ask,
        last=optional_probability(market, "lastTradePrice"),
        volume=optional_size(market, "volumeNum"),
    )
    if tick.bid is None and tick.ask is None and tick.last is None:
        return None
    check_tick(tick)
    return tick


def clob_market_record(raw: object) -> MarketRecord:
    """One CLOB market (``GET /markets`` of the CLOB API: ``tokens`` with ``winner`` flags).

    The CLOB does not say when a market resolved, so the scheduled end stands in for the
    resolution time; prefer Gamma, which does.
    """
    market = as_mapping(raw, "market")
    listed = as_list(required(market, "tokens"), "tokens")
    tokens = [as_mapping(item, "tokens[]") for item in listed]
    if len(tokens) != 2:
        raise InvalidPayload("unsupported_outcomes", f"{len(tokens)} tokens, not 2")
    first = required_str(tokens[0], "token_id")
    winners = [optional_bool(token, "winner") for token in tokens]
    status: MarketStatus = "open"
    resolution: Resolution | None = None
    resolved_at = None
    if optional_bool(market, "closed"):
        status = "pending_resolution"
        if winners[0] or winners[1]:
            status, resolution = "resolved", "yes" if winners[0] else "no"
            resolved_at = optional_time(market, "end_date_iso")
            if resolved_at is None:
                raise InvalidPayload("missing_field", "resolved market has no resolution time")
    elif optional_bool(market, "active") is False:
        status = "closed"
    tick = market.get("minimum_tick_size")
    return MarketRecord(
        venue=VENUE,
        venue_market_id=first,
        title=required_str(market, "question"),
        status=status,
        close_time=optional_time(market, "end_date_iso"),
        rules=optional_str(market, "description"),
        resolution=resolution,
        resolved_at=resolved_at,
        fee_schedule="polymarket",
        fee_rate=None,
        tick_size=float(decimal_value(tick, "minimum_tick_size")) if tick else 0.01,
    )


def _add_market(
    batch: Batch,
    raw: object,
    *,
    received_at: datetime,
    event_id: str | None = None,
    category: str | None = None,
) -> None:
    if isinstance(raw, Mapping) and "tokens" in raw and "clobTokenIds" not in raw:
        clob = batch.attempt("market", raw, clob_market_record)
        if clob is not None:
            batch.add(clob)
        return
    record = batch.attempt(
        "market",
        raw,
        lambda item: gamma_market_record(item, event_id=event_id, category=category),
    )
    if record is None:
        return
    batch.add(record)
    if record.status == "open":
        market_id = record.venue_market_id
        tick = batch.attempt(
            "tick",
            raw,
            lambda item: gamma_market_tick(item, market_id=market_id, received_at=received_at),
        )
        if tick is not None:
            batch.add(tick)


def _list_body(body: object, keys: tuple[str, ...]) -> tuple[list[Any], str | None]:
    if isinstance(body, list):
        return body, None
    envelope = as_mapping(body, "response body")
    for key in keys:
        if key in envelope:
            cursor = envelope.get("next_cursor")
            # The CLOB marks the last page with the cursor "LTE=" (base64 of -1).
            if cursor == "LTE=" or not isinstance(cursor, str) or not cursor:
                cursor = None
            return as_list(envelope.get(key), key), cursor
    raise InvalidPayload("missing_field", f"none of {', '.join(keys)} in the body")


def parse_markets(body: object, *, received_at: datetime) -> ParseResult:
    """Gamma ``/markets`` (a list) or ``/markets/keyset`` (``{"markets", "next_cursor"}``), or a
    CLOB ``/markets`` page (``{"data", "next_cursor"}``)."""
    batch = Batch(VENUE)
    try:
        items, batch.result.cursor = _list_body(body, ("markets", "data"))
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result
    for raw in items:
        _add_market(batch, raw, received_at=received_at)
    return batch.result


def parse_market(body: object, *, received_at: datetime) -> ParseResult:
    """Gamma ``/markets/{id}`` or CLOB ``/markets/{condition_id}``: one market object."""
    batch = Batch(VENUE)
    _add_market(batch, body, received_at=received_at)
    return batch.result


def event_record(raw: object) -> EventRecord:
    event = as_mapping(raw, "event")
    tags = event.get("tags")
    category = optional_str(event, "category")
    if category is None and isinstance(tags, list) and tags and isinstance(tags[0], Mapping):
        category = optional_str(tags[0], "label")
    closed = optional_bool(event, "closed")
    return EventRecord(
        venue=VENUE,
        event_id=required_str(event, "id"),
        title=optional_str(event, "title") or "",
        category=category,
        status=None if closed is None else ("closed" if closed else "open"),
    )


def parse_events(body: object, *, received_at: datetime) -> ParseResult:
    """Gamma ``/events`` (a list), ``/events/keyset`` or ``/public-search`` (``{"events"}``)."""
    batch = Batch(VENUE)
    try:
        items, batch.result.cursor = _list_body(body, ("events", "data"))
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result
    for raw in items:
        event = batch.attempt("event", raw, event_record)
        if event is None:
            continue
        batch.add(event)
        nested = raw.get("markets") if isinstance(raw, Mapping) else None
        if nested is None:
            continue
        if not isinstance(nested, list):
            batch.reject("event", "wrong_type", raw, "markets is not a list")
            continue
        for market in nested:
            _add_market(
                batch,
                market,
                received_at=received_at,
                event_id=event.event_id,
                category=event.category,
            )
    return batch.result


# --- CLOB books and prices -----------------------------------------------------------------------


def _levels(value: object, name: str) -> list[tuple[float, float]]:
    levels = []
    for item in as_list(value if value is not None else [], name):
        level = as_mapping(item, f"{name}[]")
        size = size_value(required(level, "size"), f"{name}.size")
        if size > 0:
            levels.append((probability(required(level, "price"), f"{name}.price"), size))
    return levels


def book_record(raw: Mapping[str, Any], *, received_at: datetime) -> OrderBookRecord:
    stamp = raw.get("timestamp")
    book = OrderBookRecord(
        venue=VENUE,
        venue_market_id=required_str(raw, "asset_id"),
        ts=received_at if stamp is None else any_time(stamp, "timestamp", milliseconds=True),
        bids=tuple(sorted(_levels(raw.get("bids"), "bids"), key=lambda level: -level[0])),
        asks=tuple(sorted(_levels(raw.get("asks"), "asks"), key=lambda level: level[0])),
    )
    if book.bids and book.asks and book.bids[0][0] > book.asks[0][0]:
        raise InvalidPayload(
            "crossed_book", f"best bid {book.bids[0][0]} is above best ask {book.asks[0][0]}"
        )
    return book


def book_tick(book: OrderBookRecord, raw: Mapping[str, Any]) -> TickRecord | None:
    tick = TickRecord(
        venue=VENUE,
        venue_market_id=book.venue_market_id,
        ts=book.ts,
        bid=book.bids[0][0] if book.bids else None,
        ask=book.asks[0][0] if book.asks else None,
        last=optional_probability(raw, "last_trade_price"),
        bid_size=book.bids[0][1] if book.bids else None,
        ask_size=book.asks[0][1] if book.asks else None,
    )
    if tick.bid is None and tick.ask is None and tick.last is None:
        return None
    check_tick(tick)
    return tick


def add_book(batch: Batch, raw: object, *, received_at: datetime) -> None:
    book = batch.attempt(
        "orderbook",
        raw,
        lambda item: book_record(as_mapping(item, "book"), received_at=received_at),
    )
    if book is not None:
        batch.add(book)
        tick = batch.attempt("tick", raw, lambda item: book_tick(book, as_mapping(item, "book")))
        if tick is not None:
            batch.add(tick)


def parse_book(body: object, *, received_at: datetime) -> ParseResult:
    """CLOB ``GET /book`` (one book) or ``POST /books`` (a list of books)."""
    batch = Batch(VENUE)
    for raw in body if isinstance(body, list) else [body]:
        add_book(batch, raw, received_at=received_at)
    return batch.result


def parse_price_point(
    body: object, *, token_id: str, key: str, source: str, received_at: datetime
) -> ParseResult:
    """CLOB ``GET /midpoint`` (``{"mid": "0.5"}``, key ``mid``) or ``GET /price``
    (``{"price": "0.5"}``, key ``price``): one ``PricePointRecord``."""
    batch = Batch(VENUE)

    def parse(raw: object) -> PricePointRecord:
        value = required(as_mapping(raw, "response body"), key)
        return PricePointRecord(VENUE, token_id, received_at, probability(value, key), source)

    record = batch.attempt("price", body, parse)
    if record is not None:
        batch.add(record)
    return batch.result


def parse_prices_history(body: object, *, token_id: str) -> ParseResult:
    """CLOB ``GET /prices-history``: ``{"history": [{"t": epoch seconds, "p": price}, ...]}``."""
    batch = Batch(VENUE)
    try:
        items = as_list(required(as_mapping(body, "response body"), "history"), "history")
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result

    def parse(raw: object) -> PricePointRecord:
        point = as_mapping(raw, "history[]")
        return PricePointRecord(
            venue=VENUE,
            venue_market_id=token_id,
            ts=epoch_time(required(point, "t"), "t"),
            price=probability(required(point, "p"), "p"),
            source="history",
        )

    for raw in items:
        record = batch.attempt("price", raw, parse)
        if record is not None:
            batch.add(record)
    return batch.result
