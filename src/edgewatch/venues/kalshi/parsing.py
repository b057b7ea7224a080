"""Kalshi Trade API v2 markets, series, events and status → normalised records (pure, no I/O).

Order books, trades and candlesticks are in ``market_data``.

Each ``parse_*`` takes a REST response body exactly as Kalshi sent it (decoded JSON) and returns a
``ParseResult``; a bad record is quarantined and the rest of the body still parses. No exception
escapes for any JSON input.

Wire facts handled here:

- Prices: ``*_dollars`` fixed-point strings (``"0.0600"``) are preferred; older payloads carry
  integer cents, used (÷100) only when the ``_dollars`` field is absent. Counts: ``*_fp`` strings,
  else the integer field.
- A quote of 0 (or an ask of 1) means "nothing on that side", not a price.
- Market ``status`` → lifecycle: ``initialized``/``unopened``/``inactive`` → closed (not
  tradeable), ``active``/``open`` → open, ``closed`` → closed, ``determined``/``disputed``/
  ``amended`` → pending_resolution, ``finalized``/``settled`` → resolved (``result`` yes/no)
  or void (``result`` void).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from edgewatch.errors import InvalidPayload
from edgewatch.venues.base import (
    FeeSchedule,
    MarketRecord,
    MarketStatus,
    Resolution,
    TickRecord,
)
from edgewatch.venues.records import (
    Batch,
    EventRecord,
    ExchangeStatusRecord,
    ParseResult,
    SeriesRecord,
    as_list,
    as_mapping,
    decimal_value,
    optional_bool,
    optional_str,
    optional_time,
    probability,
    required,
    required_str,
    size_value,
)
from edgewatch.venues.validation import check_tick

VENUE = "kalshi"

_STATUSES: dict[str, MarketStatus] = {
    "initialized": "closed",
    "unopened": "closed",
    "inactive": "closed",
    "paused": "closed",
    "active": "open",
    "open": "open",
    "closed": "closed",
    "determined": "pending_resolution",
    "disputed": "pending_resolution",
    "amended": "pending_resolution",
    "finalized": "resolved",
    "settled": "resolved",
}
_RESULTS: dict[str, Resolution] = {"yes": "yes", "no": "no", "void": "void"}
#: Fee types whose charge is the quadratic formula in ``venues.fees``; others fail closed.
QUADRATIC_FEE_TYPES = frozenset({"quadratic", "quadratic_with_maker_fees"})


# --- wire values ---------------------------------------------------------------------------------


def price(raw: Mapping[str, Any], base: str) -> float | None:
    """``{base}_dollars`` as a probability, else the legacy integer-cent ``{base}`` ÷ 100."""
    dollars = raw.get(f"{base}_dollars")
    if dollars is not None:
        return probability(dollars, f"{base}_dollars")
    cents = raw.get(base)
    if cents is None:
        return None
    return probability(decimal_value(cents, base) / 100, base)


def count(raw: Mapping[str, Any], base: str) -> float | None:
    """``{base}_fp`` contracts, else the legacy integer ``{base}``."""
    value = raw.get(f"{base}_fp")
    if value is not None:
        return size_value(value, f"{base}_fp")
    value = raw.get(base)
    return None if value is None else size_value(value, base)


def quote(value: float | None, *, is_ask: bool = False) -> float | None:
    # Kalshi reports an empty side as 0 (and an empty ask as 1 = "buy YES for a dollar").
    if value is None or value <= 0.0 or (is_ask and value >= 1.0):
        return None
    return value


def sizes_only_with_prices(tick: TickRecord) -> TickRecord:
    # A size quoted for an empty side (Kalshi sends 0) is not a level: drop it with the price.
    return replace(
        tick,
        bid_size=tick.bid_size if tick.bid is not None else None,
        ask_size=tick.ask_size if tick.ask is not None else None,
    )


def _series_of(raw: Mapping[str, Any]) -> str | None:
    series = optional_str(raw, "series_ticker")
    if series:
        return series
    event = optional_str(raw, "event_ticker")
    return event.split("-", 1)[0] if event else None


def _tick_size(raw: Mapping[str, Any]) -> float:
    ranges = raw.get("price_ranges")
    if isinstance(ranges, list) and ranges:
        steps = [
            decimal_value(as_mapping(item, "price_ranges[]").get("step"), "price_ranges.step")
            for item in ranges
        ]
        smallest = min(steps)
        if smallest > 0:
            return float(smallest)
    cents = raw.get("tick_size")
    if cents is not None:
        step = decimal_value(cents, "tick_size") / 100
        if step > 0:
            return float(step)
    return 0.01


def unwrap_body(body: object) -> Mapping[str, Any]:
    return as_mapping(body, "response body")


# --- markets -------------------------------------------------------------------------------------


def market_record(
    raw: object,
    *,
    category: str | None = None,
    fee_multipliers: Mapping[str, Decimal | None] | None = None,
) -> MarketRecord:
    """One market object → ``MarketRecord``; raises ``InvalidPayload`` when it is unusable.

    ``fee_multipliers`` maps series tickers to their ``fee_multiplier`` (``None`` marks a series
    whose fee type is not the quadratic schedule: its markets get no fee terms, so no signals).
    """
    market = as_mapping(raw, "market")
    ticker = required_str(market, "ticker")
    title = required(market, "title")
    if not isinstance(title, str):
        raise InvalidPayload("wrong_type", f"title is not a string: {title!r}")
    status_text = required_str(market, "status")
    status = _STATUSES.get(status_text)
    if status is None:
        raise InvalidPayload("unknown_enum", f"unknown market status {status_text!r}")
    result_text = optional_str(market, "result")
    resolution: Resolution | None = None
    resolved_at: datetime | None = None
    if result_text is not None and result_text not in _RESULTS:
        raise InvalidPayload("unknown_enum", f"unsupported market result {result_text!r}")
    if status == "resolved":
        if result_text is None:
            raise InvalidPayload("missing_field", f"{status_text} market has no result")
        resolution = _RESULTS[result_text]
        status = "void" if resolution == "void" else "resolved"
        resolved_at = (
            optional_time(market, "settlement_ts")
            or optional_time(market, "expiration_time")
            or optional_time(market, "close_time")
        )
        if resolved_at is None:
            raise InvalidPayload("missing_field", "resolved market has no resolution time")
    rules = "\n\n".join(
        text for key in ("rules_primary", "rules_secondary") if (text := optional_str(market, key))
    )
    # Unknown series: Kalshi's standard terms (multiplier 1). A known series whose fee type the
    # quadratic formula does not describe (mapped to None): no fee terms, so no signals.
    series = _series_of(market)
    multiplier: Decimal | None = None
    fee_schedule: FeeSchedule | None = "kalshi"
    if fee_multipliers is not None and series is not None and series in fee_multipliers:
        multiplier = fee_multipliers[series]
        fee_schedule = "kalshi" if multiplier is not None else None
    return MarketRecord(
        venue=VENUE,
        venue_market_id=ticker,
        title=title.strip() or ticker,
        status=status,
        close_time=optional_time(market, "close_time"),
        event_id=optional_str(market, "event_ticker"),
        category=optional_str(market, "category") or category,
        rules=rules or None,
        resolution=resolution,
        resolved_at=resolved_at,
        fee_schedule=fee_schedule,
        fee_multiplier=multiplier,
        tick_size=_tick_size(market),
    )


def market_tick(raw: object, *, received_at: datetime) -> TickRecord | None:
    """The market's current quote as a tick, or ``None`` if it quotes nothing."""
    market = as_mapping(raw, "market")
    tick = TickRecord(
        venue=VENUE,
        venue_market_id=required_str(market, "ticker"),
        ts=optional_time(market, "updated_time") or received_at,
        bid=quote(price(market, "yes_bid")),
        ask=quote(price(market, "yes_ask"), is_ask=True),
        last=quote(price(market, "last_price")),
        volume=count(market, "volume"),
        bid_size=count(market, "yes_bid_size"),
        ask_size=count(market, "yes_ask_size"),
    )
    tick = sizes_only_with_prices(tick)
    if tick.bid is None and tick.ask is None and tick.last is None:
        return None
    check_tick(tick)
    return tick


def _add_market(
    batch: Batch,
    raw: object,
    *,
    received_at: datetime,
    category: str | None = None,
    fee_multipliers: Mapping[str, Decimal | None] | None = None,
) -> None:
    record = batch.attempt(
        "market",
        raw,
        lambda item: market_record(item, category=category, fee_multipliers=fee_multipliers),
    )
    if record is None:
        return
    batch.add(record)
    if record.status == "open":
        tick = batch.attempt("tick", raw, lambda item: market_tick(item, received_at=received_at))
        if tick is not None:
            batch.add(tick)


def parse_markets(
    body: object,
    *,
    received_at: datetime,
    fee_multipliers: Mapping[str, Decimal | None] | None = None,
) -> ParseResult:
    """``GET /markets`` (one page): markets, their current quotes as ticks, and the cursor."""
    batch = Batch(VENUE)
    try:
        envelope = unwrap_body(body)
        items = as_list(envelope.get("markets"), "markets")
        batch.result.cursor = optional_str(envelope, "cursor")
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result
    for raw in items:
        _add_market(batch, raw, received_at=received_at, fee_multipliers=fee_multipliers)
    return batch.result


def parse_market(
    body: object,
    *,
    received_at: datetime,
    fee_multipliers: Mapping[str, Decimal | None] | None = None,
) -> ParseResult:
    """``GET /markets/{ticker}``: ``{"market": {...}}``."""
    batch = Batch(VENUE)
    try:
        raw = required(unwrap_body(body), "market")
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result
    _add_market(batch, raw, received_at=received_at, fee_multipliers=fee_multipliers)
    return batch.result


# --- series and events ---------------------------------------------------------------------------


def series_record(raw: object) -> SeriesRecord:
    series = as_mapping(raw, "series")
    fee_type = optional_str(series, "fee_type")
    multiplier_raw = series.get("fee_multiplier")
    multiplier = None if multiplier_raw is None else decimal_value(multiplier_raw, "fee_multiplier")
    if multiplier is not None and multiplier < 0:
        raise InvalidPayload("out_of_range", f"fee_multiplier {multiplier} is negative")
    return SeriesRecord(
        venue=VENUE,
        series_id=required_str(series, "ticker"),
        title=optional_str(series, "title") or "",
        category=optional_str(series, "category"),
        fee_type=fee_type,
        fee_multiplier=multiplier,
    )


def fee_multiplier_of(series: SeriesRecord) -> Decimal | None:
    """The multiplier to store on the series' markets; ``None`` when the fee type is unknown."""
    if series.fee_type is not None and series.fee_type not in QUADRATIC_FEE_TYPES:
        return None
    return series.fee_multiplier if series.fee_multiplier is not None else Decimal(1)


def parse_series(body: object) -> ParseResult:
    """``GET /series/{ticker}`` (``{"series": {...}}``) or ``GET /series`` (a list)."""
    batch = Batch(VENUE)
    try:
        found = required(unwrap_body(body), "series")
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result
    for raw in found if isinstance(found, list) else [found]:
        record = batch.attempt("series", raw, series_record)
        if record is not None:
            batch.add(record)
    return batch.result


def event_record(raw: object) -> EventRecord:
    event = as_mapping(raw, "event")
    return EventRecord(
        venue=VENUE,
        event_id=required_str(event, "event_ticker"),
        title=optional_str(event, "title") or "",
        category=optional_str(event, "category"),
        series_id=optional_str(event, "series_ticker"),
    )


def parse_events(
    body: object,
    *,
    received_at: datetime,
    fee_multipliers: Mapping[str, Decimal | None] | None = None,
) -> ParseResult:
    """``GET /events`` (``{"events": [...], "cursor"}``, markets nested when asked for) or
    ``GET /events/{ticker}`` (``{"event": {...}, "markets": [...]}``)."""
    batch = Batch(VENUE)
    try:
        envelope = unwrap_body(body)
        if "events" in envelope:
            events = as_list(envelope.get("events"), "events")
            batch.result.cursor = optional_str(envelope, "cursor")
            groups = [(event, None) for event in events]
        else:
            groups = [(required(envelope, "event"), envelope.get("markets"))]
    except InvalidPayload as exc:
        batch.reject("body", exc.reason, body, exc.message)
        return batch.result
    for raw_event, sibling_markets in groups:
        event = batch.attempt("event", raw_event, event_record)
        if event is None:
            continue
        batch.add(event)
        nested = sibling_markets
        if nested is None and isinstance(raw_event, Mapping):
            nested = raw_event.get("markets")
        if nested is None:
            continue
        if not isinstance(nested, list):
            batch.reject("event", "wrong_type", raw_event, "markets is not a list")
            continue
        for raw in nested:
            _add_market(
                batch,
                raw,
                received_at=received_at,
                category=event.category,
                fee_multipliers=fee_multipliers,
            )
    return batch.result


def parse_exchange_status(body: object, *, received_at: datetime) -> ParseResult:
    """``GET /exchange/status``: ``{"exchange_active", "trading_active", ...}``."""
    batch = Batch(VENUE)

    def parse(raw: object) -> ExchangeStatusRecord:
        status = as_mapping(raw, "response body")
        exchange = optional_bool(status, "exchange_active")
        trading = optional_bool(status, "trading_active")
        if exchange is None or trading is None:
            raise InvalidPayload("missing_field", "exchange_active or trading_active is missing")
        return ExchangeStatusRecord(VENUE, received_at, exchange, trading)

    record = batch.attempt("exchange_status", body, parse)
    if record is not None:
        batch.add(record)
    return batch.result
