"""Every recorded venue payload normalises, and key fields match the raw values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edgewatch.venues.base import MarketRecord, TickRecord
from edgewatch.venues.normalize import normalize_text, unwrap_recording
from edgewatch.venues.records import (
    CandleRecord,
    EventRecord,
    ExchangeStatusRecord,
    OrderBookRecord,
    ParseResult,
    SeriesRecord,
    TickSizeRecord,
    TradeRecord,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "venues"
RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = {
    "kalshi/rest_get_event.json": "events",
    "kalshi/rest_get_exchange_status.json": "status",
    "kalshi/rest_get_market.json": "market",
    "kalshi/rest_get_market_candlesticks.json": "candlesticks",
    "kalshi/rest_get_markets.json": "markets",
    "kalshi/rest_get_orderbook_empty.json": "orderbook",
    "kalshi/rest_get_series.json": "series",
    "kalshi/rest_get_trades.json": "trades",
    "kalshi/ws_ticker.jsonl": "ws",
    "polymarket/clob_get_book.json": "orderbook",
    "polymarket/clob_get_market.json": "market",
    "polymarket/clob_get_markets_page.json": "markets",
    "polymarket/gamma_get_events.json": "events",
    "polymarket/gamma_get_market.json": "market",
    "polymarket/gamma_get_market_sports_closed.json": "market",
    "polymarket/gamma_public_search.json": "events",
    "polymarket/ws_market_best_bid_ask.json": "ws",
    "polymarket/ws_market_book.jsonl": "ws",
    "polymarket/ws_market_last_trade_price.jsonl": "ws",
    "polymarket/ws_market_new_market.json": "ws",
    "polymarket/ws_market_tick_size_change.json": "ws",
}


def normalize(name: str) -> ParseResult:
    venue = name.split("/", 1)[0]
    return normalize_text(venue, KINDS[name], (FIXTURES / name).read_text(), received_at=RECEIVED)


def body(name: str) -> Any:
    return unwrap_recording(json.loads((FIXTURES / name).read_text()))[0]


def lines(name: str) -> list[Any]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]


def test_every_fixture_file_has_a_kind() -> None:
    on_disk = {
        str(path.relative_to(FIXTURES))
        for path in FIXTURES.rglob("*")
        if path.suffix in (".json", ".jsonl")
    }
    assert on_disk == set(KINDS)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_fixture_normalises_without_crash(name: str) -> None:
    result = normalize(name)
    assert result.records or name.endswith("orderbook_empty.json")
    for rejected in result.rejected:
        assert rejected.reason


def test_kalshi_market_quote_comes_from_the_dollar_fields() -> None:
    result = normalize("kalshi/rest_get_event.json")
    raw = body("kalshi/rest_get_event.json")["markets"][0]
    [market] = result.of_type(MarketRecord)
    [tick] = result.of_type(TickRecord)
    assert market.venue_market_id == raw["ticker"]
    assert market.status == "open"
    assert market.category == "World"
    assert market.close_time == datetime(2099, 8, 1, 4, 59, tzinfo=UTC)
    assert market.fee_schedule == "kalshi"
    assert tick.bid == float(raw["yes_bid_dollars"]) == 0.06
    assert tick.ask == float(raw["yes_ask_dollars"]) == 0.07
    assert tick.last == float(raw["last_price_dollars"])
    assert tick.volume == raw["volume"]
    [event] = result.of_type(EventRecord)
    assert event.series_id == "KXELONMARS"


def test_kalshi_combo_market_without_quotes_yields_no_tick() -> None:
    result = normalize("kalshi/rest_get_markets.json")
    raw = body("kalshi/rest_get_markets.json")
    assert [m.venue_market_id for m in result.of_type(MarketRecord)] == [
        m["ticker"] for m in raw["markets"]
    ]
    assert result.of_type(TickRecord) == []
    assert result.cursor == raw["cursor"]
    assert all(m.tick_size == 0.001 for m in result.of_type(MarketRecord))  # deci_cent


def test_kalshi_trades_keep_yes_price_count_and_side() -> None:
    result = normalize("kalshi/rest_get_trades.json")
    raw = body("kalshi/rest_get_trades.json")["trades"]
    trades = result.of_type(TradeRecord)
    assert [t.trade_id for t in trades] == [t["trade_id"] for t in raw]
    assert all(t.price == float(r["yes_price_dollars"]) for t, r in zip(trades, raw, strict=True))
    assert all(
        t.size == r["count"] and t.taker_side == r["taker_side"]
        for t, r in zip(trades, raw, strict=True)
    )


def test_kalshi_candles_have_no_trade_prices_on_days_without_trades() -> None:
    candles = normalize("kalshi/rest_get_market_candlesticks.json").of_type(CandleRecord)
    raw = body("kalshi/rest_get_market_candlesticks.json")["candlesticks"]
    assert len(candles) == len(raw) == 90
    assert (
        candles[0].close is None and candles[0].bid_close == 0.08 and candles[0].ask_close == 0.11
    )
    last = candles[-1]
    assert last.close == float(raw[-1]["price"]["close_dollars"])
    assert last.end == datetime.fromtimestamp(raw[-1]["end_period_ts"], UTC)
    assert last.volume == raw[-1]["volume"]


def test_kalshi_series_fee_terms() -> None:
    [series] = normalize("kalshi/rest_get_series.json").of_type(SeriesRecord)
    assert series.fee_type == "quadratic"
    assert series.fee_multiplier == Decimal(1)


def test_kalshi_empty_book_is_empty() -> None:
    [book] = normalize("kalshi/rest_get_orderbook_empty.json").of_type(OrderBookRecord)
    assert book.bids == () and book.asks == ()
    assert book.venue_market_id == "KXMVENFLSINGLEGAME-S202513E70FA7695-688BECB3826"


def test_kalshi_ws_ticker_frames_map_to_ticks() -> None:
    ticks = normalize("kalshi/ws_ticker.jsonl").of_type(TickRecord)
    frames = lines("kalshi/ws_ticker.jsonl")
    assert len(ticks) == len(frames)
    first = frames[0]["msg"]
    assert ticks[0].venue_market_id == first["market_ticker"]
    assert ticks[0].bid == float(first["yes_bid_dollars"])
    assert ticks[0].ask == float(first["yes_ask_dollars"])
    assert ticks[0].bid_size == float(first["yes_bid_size_fp"])
    assert ticks[0].ts == datetime.fromtimestamp(first["ts"], UTC)
    # An ask of $1.00 means nobody sells YES: no ask, not a price.
    assert frames[1]["msg"]["yes_ask_dollars"] == "1.0000" and ticks[1].ask is None


def test_kalshi_exchange_status() -> None:
    [status] = normalize("kalshi/rest_get_exchange_status.json").of_type(ExchangeStatusRecord)
    assert status.exchange_active and status.trading_active


def test_polymarket_clob_book_takes_max_bid_and_min_ask_of_unordered_levels() -> None:
    result = normalize("polymarket/clob_get_book.json")
    raw = body("polymarket/clob_get_book.json")
    [tick] = result.of_type(TickRecord)
    assert tick.bid == max(float(level["price"]) for level in raw["bids"]) == 0.1
    assert tick.ask == min(float(level["price"]) for level in raw["asks"]) == 0.14
    assert tick.venue_market_id == raw["asset_id"]
    assert tick.ts == datetime.fromtimestamp(int(raw["timestamp"]) / 1000, UTC)


def test_polymarket_gamma_market_decodes_json_in_json_fields() -> None:
    result = normalize("polymarket/gamma_get_market.json")
    raw = body("polymarket/gamma_get_market.json")
    [market] = result.of_type(MarketRecord)
    [tick] = result.of_type(TickRecord)
    assert market.venue_market_id == json.loads(raw["clobTokenIds"])[0]
    assert market.title == f"{raw['question']} — Up"  # YES means the first outcome wins
    assert market.status == "open"
    assert market.event_id == raw["events"][0]["id"]
    assert market.fee_rate is None  # fees enabled, no feeSchedule: unknown, fail closed
    assert (tick.bid, tick.ask, tick.last) == (
        raw["bestBid"],
        raw["bestAsk"],
        raw["lastTradePrice"],
    )


def test_polymarket_closed_market_is_resolved_with_time_and_fee_rate() -> None:
    raw = body("polymarket/gamma_get_market_sports_closed.json")
    [market] = normalize("polymarket/gamma_get_market_sports_closed.json").of_type(MarketRecord)
    assert json.loads(raw["outcomePrices"]) == ["1", "0"]
    assert (market.status, market.resolution) == ("resolved", "yes")
    assert market.resolved_at == datetime(2026, 4, 5, 19, 37, 33, tzinfo=UTC)
    assert market.fee_rate == Decimal(str(raw["feeSchedule"]["rate"]))
    assert market.tick_size == raw["orderPriceMinTickSize"]


def test_polymarket_events_carry_their_markets() -> None:
    result = normalize("polymarket/gamma_get_events.json")
    raw = body("polymarket/gamma_get_events.json")[0]
    [event] = result.of_type(EventRecord)
    markets = result.of_type(MarketRecord)
    assert event.event_id == raw["id"]
    assert [m.event_id for m in markets] == [raw["id"]] * len(raw["markets"])
    assert all(m.fee_rate == Decimal(0) for m in markets)  # feesEnabled false


def test_polymarket_ws_book_frames() -> None:
    result = normalize("polymarket/ws_market_book.jsonl")
    frames = lines("polymarket/ws_market_book.jsonl")
    books = result.of_type(OrderBookRecord)
    assert len(books) == len(frames)
    for book, frame in zip(books, frames, strict=True):
        bids = [float(level["price"]) for level in frame["bids"] if float(level["size"]) > 0]
        asks = [float(level["price"]) for level in frame["asks"] if float(level["size"]) > 0]
        assert [level[0] for level in book.bids] == sorted(bids, reverse=True)
        assert [level[0] for level in book.asks] == sorted(asks)


def test_polymarket_ws_trades_ticks_and_tick_size() -> None:
    trades = normalize("polymarket/ws_market_last_trade_price.jsonl").of_type(TradeRecord)
    frames = lines("polymarket/ws_market_last_trade_price.jsonl")
    assert [t.price for t in trades] == [float(f["price"]) for f in frames]
    assert [t.taker_side for t in trades] == [f["side"].lower() for f in frames]
    [tick] = normalize("polymarket/ws_market_best_bid_ask.json").of_type(TickRecord)
    assert (tick.bid, tick.ask) == (0.73, 0.77)
    [size] = normalize("polymarket/ws_market_tick_size_change.json").of_type(TickSizeRecord)
    assert size.tick_size == 0.001
    [market] = normalize("polymarket/ws_market_new_market.json").of_type(MarketRecord)
    assert market.venue_market_id == body("polymarket/ws_market_new_market.json")["assets_ids"][0]


def test_polymarket_clob_markets_page_resolution_from_winner_flags() -> None:
    result = normalize("polymarket/clob_get_markets_page.json")
    raw = body("polymarket/clob_get_markets_page.json")
    first = result.of_type(MarketRecord)[0]
    assert first.venue_market_id == raw["data"][0]["tokens"][0]["token_id"]
    assert (first.status, first.resolution) == ("resolved", "no")
    assert result.cursor == raw["next_cursor"]
