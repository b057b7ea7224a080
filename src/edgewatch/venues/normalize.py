"""Saved venue payloads → normalised records: one entry point for the CLI, tests and replay.

``normalize_text`` takes the text of a response body exactly as a venue sent it (one JSON
document, or one JSON document per line for stream frames), picks the parser for the venue and
kind, and returns a ``ParseResult``. ``record_to_json`` renders a record as a JSON-ready dict:
times in ISO 8601 UTC, decimals as floats, a ``record`` field naming the record type.

Recorder wrappers (``{"_metadata": {...}, "response": <body>}``, as in the shared Kalshi
fixtures) are unwrapped by ``unwrap_recording``; the parsers themselves only see the body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from edgewatch.errors import InvalidInput
from edgewatch.venues.base import MarketRecord, TickRecord
from edgewatch.venues.kalshi import frames as kalshi_frames
from edgewatch.venues.kalshi import market_data as kalshi_market_data
from edgewatch.venues.kalshi import parsing as kalshi
from edgewatch.venues.polymarket import frames as polymarket_frames
from edgewatch.venues.polymarket import parsing as polymarket
from edgewatch.venues.records import (
    BookUpdateRecord,
    CandleRecord,
    EventRecord,
    ExchangeStatusRecord,
    OrderBookRecord,
    ParseResult,
    PricePointRecord,
    Record,
    ResolutionRecord,
    SeriesRecord,
    TickSizeRecord,
    TradeRecord,
)

VenueName = Literal["kalshi", "polymarket"]
Kind = Literal[
    "events",
    "markets",
    "market",
    "orderbook",
    "trades",
    "candlesticks",
    "prices-history",
    "ws",
    "series",
    "status",
    "midpoint",
    "price",
]
VENUES: tuple[str, ...] = get_args(VenueName)
KINDS: tuple[str, ...] = get_args(Kind)

RECORD_NAMES: dict[type, str] = {
    MarketRecord: "market",
    TickRecord: "tick",
    SeriesRecord: "series",
    EventRecord: "event",
    TradeRecord: "trade",
    CandleRecord: "candle",
    OrderBookRecord: "orderbook",
    BookUpdateRecord: "book_update",
    PricePointRecord: "price",
    TickSizeRecord: "tick_size",
    ResolutionRecord: "resolution",
    ExchangeStatusRecord: "exchange_status",
}


@dataclass(frozen=True, slots=True)
class Context:
    """What a body does not say about itself."""

    received_at: datetime
    #: The market (Kalshi ticker, Polymarket token id) for bodies that do not name it.
    market_id: str | None = None


Parser = Callable[[object, Context], ParseResult]


def _needs_market(ctx: Context, kind: str) -> str:
    if not ctx.market_id:
        raise InvalidInput(f"--kind {kind} needs the market it belongs to (--market)")
    return ctx.market_id


def _polymarket_price(key: str, source: str) -> Parser:
    def parse(body: object, ctx: Context) -> ParseResult:
        return polymarket.parse_price_point(
            body,
            token_id=_needs_market(ctx, source),
            key=key,
            source=source,
            received_at=ctx.received_at,
        )

    return parse


PARSERS: dict[tuple[str, str], Parser] = {
    ("kalshi", "series"): lambda body, ctx: kalshi.parse_series(body),
    ("kalshi", "events"): lambda body, ctx: kalshi.parse_events(body, received_at=ctx.received_at),
    ("kalshi", "markets"): lambda body, ctx: kalshi.parse_markets(
        body, received_at=ctx.received_at
    ),
    ("kalshi", "market"): lambda body, ctx: kalshi.parse_market(body, received_at=ctx.received_at),
    ("kalshi", "orderbook"): lambda body, ctx: kalshi_market_data.parse_orderbook(
        body, market_id=_needs_market(ctx, "orderbook"), received_at=ctx.received_at
    ),
    ("kalshi", "trades"): lambda body, ctx: kalshi_market_data.parse_trades(body),
    ("kalshi", "candlesticks"): lambda body, ctx: kalshi_market_data.parse_candlesticks(
        body, market_id=ctx.market_id
    ),
    ("kalshi", "status"): lambda body, ctx: kalshi.parse_exchange_status(
        body, received_at=ctx.received_at
    ),
    ("kalshi", "ws"): lambda body, ctx: kalshi_frames.parse_ws_frame(
        body, received_at=ctx.received_at
    ),
    ("polymarket", "events"): lambda body, ctx: polymarket.parse_events(
        body, received_at=ctx.received_at
    ),
    ("polymarket", "markets"): lambda body, ctx: polymarket.parse_markets(
        body, received_at=ctx.received_at
    ),
    ("polymarket", "market"): lambda body, ctx: polymarket.parse_market(
        body, received_at=ctx.received_at
    ),
    ("polymarket", "orderbook"): lambda body, ctx: polymarket.parse_book(
        body, received_at=ctx.received_at
    ),
    ("polymarket", "prices-history"): lambda body, ctx: polymarket.parse_prices_history(
        body, token_id=_needs_market(ctx, "prices-history")
    ),
    ("polymarket", "midpoint"): _polymarket_price("mid", "midpoint"),
    ("polymarket", "price"): _polymarket_price("price", "price"),
    ("polymarket", "ws"): lambda body, ctx: polymarket_frames.parse_ws_frame(
        body, received_at=ctx.received_at
    ),
}


def unwrap_recording(document: object) -> tuple[object, Mapping[str, Any]]:
    """Split a recorder wrapper into (body, metadata); any other document is its own body."""
    if (
        isinstance(document, dict)
        and isinstance(document.get("_metadata"), dict)
        and "response" in document
    ):
        return document["response"], document["_metadata"]
    return document, {}


def parse_documents(text: str, *, kind: str) -> list[object]:
    """The JSON documents in ``text``: one, or (for ``ws``) one per non-blank line.

    Raises ``InvalidInput`` when nothing in the text is JSON. For ``ws`` a line that is not JSON
    is kept as its raw text so the stream parser quarantines it and the rest still parses.
    """
    try:
        return [json.loads(text)]
    except ValueError as exc:
        if kind != "ws":
            raise InvalidInput(f"not a JSON document: {exc}") from None
    documents: list[object] = []
    parsed_any = False
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
            parsed_any = True
        except ValueError:
            documents.append(line)
    if not parsed_any:
        raise InvalidInput("no line of the file is a JSON document")
    return documents


def normalize_documents(
    venue: str,
    kind: str,
    documents: list[object],
    *,
    received_at: datetime,
    market_id: str | None = None,
) -> ParseResult:
    """Parse decoded documents (recorder wrappers allowed) with the parser for venue and kind."""
    parser = PARSERS.get((venue, kind))
    if parser is None:
        raise InvalidInput(f"--kind {kind} is not available for --venue {venue}")
    merged = ParseResult()
    for document in documents:
        body, metadata = unwrap_recording(document)
        ctx = Context(
            received_at=_recorded_at(metadata) or received_at,
            market_id=market_id or _text(metadata.get("ticker")),
        )
        result = parser(body, ctx)
        merged.records.extend(result.records)
        merged.rejected.extend(result.rejected)
        merged.cursor = result.cursor or merged.cursor
    return merged


def normalize_text(
    venue: str,
    kind: str,
    text: str,
    *,
    received_at: datetime,
    market_id: str | None = None,
) -> ParseResult:
    """``parse_documents`` then ``normalize_documents``; ``InvalidInput`` if it is not JSON."""
    documents = parse_documents(text, kind=kind)
    return normalize_documents(venue, kind, documents, received_at=received_at, market_id=market_id)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _recorded_at(metadata: Mapping[str, Any]) -> datetime | None:
    value = metadata.get("recorded_at")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


def record_to_json(record: Record) -> dict[str, object]:
    """A record as a JSON-ready dict: ``{"record": <type>, <field>: <value>, ...}``."""
    out: dict[str, object] = {"record": RECORD_NAMES[type(record)]}
    for item in fields(record):
        out[item.name] = _jsonable(getattr(record, item.name))
    return out
