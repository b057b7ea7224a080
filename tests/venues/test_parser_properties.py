"""Hostile payloads: no exception escapes a parser, bad records are quarantined with a reason,
and nothing corrupt comes out the other side."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgewatch.observability.metrics import REGISTRY
from edgewatch.venues.base import MarketRecord, TickRecord
from edgewatch.venues.kalshi import frames as kalshi_frames
from edgewatch.venues.kalshi import market_data as kalshi_market_data
from edgewatch.venues.kalshi import parsing as kalshi
from edgewatch.venues.normalize import unwrap_recording
from edgewatch.venues.polymarket import frames as polymarket_frames
from edgewatch.venues.polymarket import parsing as polymarket
from edgewatch.venues.records import (
    BookUpdateRecord,
    CandleRecord,
    OrderBookRecord,
    ParseResult,
    PricePointRecord,
    TradeRecord,
)
from edgewatch.venues.validation import check_tick

FIXTURES = Path(__file__).parents[1] / "fixtures" / "venues"
NOW = datetime(2026, 1, 1, tzinfo=UTC)

PARSERS: dict[str, Callable[[Any], ParseResult]] = {
    "kalshi.markets": lambda b: kalshi.parse_markets(b, received_at=NOW),
    "kalshi.market": lambda b: kalshi.parse_market(b, received_at=NOW),
    "kalshi.events": lambda b: kalshi.parse_events(b, received_at=NOW),
    "kalshi.series": kalshi.parse_series,
    "kalshi.orderbook": lambda b: kalshi_market_data.parse_orderbook(
        b, market_id="M", received_at=NOW
    ),
    "kalshi.trades": kalshi_market_data.parse_trades,
    "kalshi.candlesticks": lambda b: kalshi_market_data.parse_candlesticks(b, market_id="M"),
    "kalshi.status": lambda b: kalshi.parse_exchange_status(b, received_at=NOW),
    "kalshi.ws": lambda b: kalshi_frames.parse_ws_frame(b, received_at=NOW),
    "polymarket.markets": lambda b: polymarket.parse_markets(b, received_at=NOW),
    "polymarket.market": lambda b: polymarket.parse_market(b, received_at=NOW),
    "polymarket.events": lambda b: polymarket.parse_events(b, received_at=NOW),
    "polymarket.book": lambda b: polymarket.parse_book(b, received_at=NOW),
    "polymarket.midpoint": lambda b: polymarket.parse_price_point(
        b, token_id="T", key="mid", source="midpoint", received_at=NOW
    ),
    "polymarket.history": lambda b: polymarket.parse_prices_history(b, token_id="T"),
    "polymarket.ws": lambda b: polymarket_frames.parse_ws_frame(b, received_at=NOW),
}

# (parser, fixture, line of a .jsonl fixture or None)
SEEDS: list[tuple[str, str]] = [
    ("kalshi.events", "kalshi/rest_get_event.json"),
    ("kalshi.market", "kalshi/rest_get_market.json"),
    ("kalshi.markets", "kalshi/rest_get_markets.json"),
    ("kalshi.candlesticks", "kalshi/rest_get_market_candlesticks.json"),
    ("kalshi.series", "kalshi/rest_get_series.json"),
    ("kalshi.trades", "kalshi/rest_get_trades.json"),
    ("kalshi.status", "kalshi/rest_get_exchange_status.json"),
    ("kalshi.ws", "kalshi/ws_ticker.jsonl"),
    ("polymarket.book", "polymarket/clob_get_book.json"),
    ("polymarket.market", "polymarket/gamma_get_market.json"),
    ("polymarket.market", "polymarket/gamma_get_market_sports_closed.json"),
    ("polymarket.market", "polymarket/clob_get_market.json"),
    ("polymarket.events", "polymarket/gamma_get_events.json"),
    ("polymarket.ws", "polymarket/ws_market_book.jsonl"),
    ("polymarket.ws", "polymarket/ws_market_last_trade_price.jsonl"),
    ("polymarket.ws", "polymarket/ws_market_new_market.json"),
    ("polymarket.ws", "polymarket/ws_market_best_bid_ask.json"),
    ("polymarket.ws", "polymarket/ws_market_tick_size_change.json"),
]


def load(name: str) -> Any:
    text = (FIXTURES / name).read_text()
    if name.endswith(".jsonl"):
        return json.loads(text.splitlines()[0])
    return unwrap_recording(json.loads(text))[0]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)
bad_values = st.sampled_from(
    [None, math.nan, math.inf, -math.inf, -1, 2, 1.5, "abc", "NaN", "", [], {}, True, "1e999"]
)


def assert_sane(result: ParseResult) -> None:
    """Nothing corrupt in the output, and every rejection says why."""
    for rejected in result.rejected:
        assert rejected.reason and isinstance(rejected.payload, str)
    for record in result.records:
        for item in fields(record):
            value = getattr(record, item.name)
            if isinstance(value, float):
                assert math.isfinite(value), (record, item.name)
            if isinstance(value, datetime):
                assert value.tzinfo is not None
        if isinstance(record, TickRecord):
            check_tick(record)
        if isinstance(record, TradeRecord | PricePointRecord | BookUpdateRecord):
            assert 0.0 <= record.price <= 1.0
        if isinstance(record, OrderBookRecord):
            for level_price, size in record.bids + record.asks:
                assert 0.0 <= level_price <= 1.0 and size >= 0
            if record.bids and record.asks:
                assert record.bids[0][0] <= record.asks[0][0]
        if isinstance(record, CandleRecord):
            for value in (record.open, record.high, record.low, record.close):
                assert value is None or 0.0 <= value <= 1.0
        if isinstance(record, MarketRecord):
            assert record.venue_market_id
            if record.status in ("resolved", "void"):
                assert record.resolution is not None and record.resolved_at is not None


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += _paths(value, (*prefix, index))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parser=st.sampled_from(sorted(PARSERS)), payload=json_values)
def test_random_json_never_raises(parser: str, payload: Any) -> None:
    assert_sane(PARSERS[parser](payload))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_mutated_recorded_payloads_never_raise(seed: tuple[str, str], data: st.DataObject) -> None:
    parser, name = seed
    payload = copy.deepcopy(load(name))
    paths = _paths(payload)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(paths))
        parent = payload
        try:
            for step in path[:-1]:
                parent = parent[step]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(bad_values | json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    assert_sane(PARSERS[parser](payload))


def _rejected_count(venue: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "edgewatch_venue_records_rejected_total", {"venue": venue, "reason": reason}
    )
    return value or 0.0


def _kalshi_market(**changes: Any) -> dict[str, Any]:
    market = copy.deepcopy(load("kalshi/rest_get_event.json")["markets"][0])
    market.update(changes)
    return {"markets": [market, load("kalshi/rest_get_event.json")["markets"][0]], "cursor": ""}


@pytest.mark.parametrize(
    ("changes", "kind", "reason"),
    [
        ({"yes_bid_dollars": "NaN"}, "tick", "not_finite"),
        ({"yes_ask_dollars": "1.7000"}, "tick", "out_of_range"),
        ({"yes_bid_dollars": "0.5000", "yes_ask_dollars": "0.4000"}, "tick", "crossed_quote"),
        ({"yes_bid_dollars": ["0.5"]}, "tick", "wrong_type"),
        ({"status": "exploded"}, "market", "unknown_enum"),
        ({"ticker": None}, "market", "missing_field"),
        ({"status": "finalized", "result": ""}, "market", "missing_field"),
        ({"close_time": "tomorrow"}, "market", "bad_time"),
    ],
)
def test_bad_kalshi_market_is_quarantined_and_counted(
    changes: dict[str, Any], kind: str, reason: str
) -> None:
    before = _rejected_count("kalshi", reason)
    result = kalshi.parse_markets(_kalshi_market(**changes), received_at=NOW)
    [rejected] = result.rejected
    assert (rejected.venue, rejected.kind) == ("kalshi", kind)
    assert rejected.reason.startswith(reason)
    assert json.loads(rejected.payload)["title"].startswith("Will Elon Musk")
    assert _rejected_count("kalshi", reason) == before + 1
    # The good market in the same page still comes through.
    assert any(isinstance(r, MarketRecord) for r in result.records)


def test_crossed_kalshi_book_is_quarantined() -> None:
    body = {"orderbook_fp": {"yes_dollars": [["0.60", "5.00"]], "no_dollars": [["0.50", "3.00"]]}}
    result = kalshi_market_data.parse_orderbook(body, market_id="M", received_at=NOW)
    assert result.records == []
    assert result.rejected[0].reason.startswith("crossed_book")


def test_kalshi_book_asks_come_from_no_bids() -> None:
    body = {
        "orderbook_fp": {
            "yes_dollars": [["0.40", "10.00"], ["0.42", "13.00"]],
            "no_dollars": [["0.50", "7.00"], ["0.55", "2.00"]],
        }
    }
    [book, tick] = kalshi_market_data.parse_orderbook(body, market_id="M", received_at=NOW).records
    assert isinstance(book, OrderBookRecord) and isinstance(tick, TickRecord)
    assert book.bids == ((0.42, 13.0), (0.4, 10.0))
    assert book.asks == ((0.45, 2.0), (0.5, 7.0))
    assert (tick.bid, tick.ask, tick.bid_size, tick.ask_size) == (0.42, 0.45, 13.0, 2.0)


def test_legacy_kalshi_book_in_cents() -> None:
    body = {"orderbook": {"yes": [[40, 10], [42, 13]], "no": [[55, 2]]}}
    [book, _tick] = kalshi_market_data.parse_orderbook(body, market_id="M", received_at=NOW).records
    assert isinstance(book, OrderBookRecord)
    assert book.bids[0] == (0.42, 13.0) and book.asks[0] == (0.45, 2.0)


def test_kalshi_ws_delta_and_snapshot_keep_sequence() -> None:
    snapshot = {
        "type": "orderbook_snapshot",
        "sid": 2,
        "seq": 7,
        "msg": {
            "market_ticker": "M",
            "yes_dollars_fp": [["0.08", "300.00"]],
            "no_dollars_fp": [["0.54", "20.00"]],
        },
    }
    delta = {
        "type": "orderbook_delta",
        "sid": 2,
        "seq": 8,
        "msg": {"market_ticker": "M", "price_dollars": "0.96", "delta_fp": "-54.00", "side": "yes"},
    }
    [book, tick] = kalshi_frames.parse_ws_frame(snapshot, received_at=NOW).records
    assert isinstance(book, OrderBookRecord) and book.seq == 7
    assert isinstance(tick, TickRecord) and tick.ask == 0.46
    [update] = kalshi_frames.parse_ws_frame(delta, received_at=NOW).records
    assert update == BookUpdateRecord("kalshi", "M", NOW, "yes", 0.96, -54.0, False, 8)


def test_polymarket_price_change_batched_and_legacy_shapes() -> None:
    batched = {
        "event_type": "price_change",
        "market": "0xabc",
        "timestamp": "1757908892351",
        "price_changes": [
            {
                "asset_id": "A",
                "price": "0.5",
                "size": "200",
                "side": "BUY",
                "best_bid": "0.5",
                "best_ask": "1",
            },
            {
                "asset_id": "B",
                "price": "0.5",
                "size": "0",
                "side": "SELL",
                "best_bid": "0",
                "best_ask": "0.5",
            },
        ],
    }
    legacy = {
        "event_type": "price_change",
        "asset_id": "A",
        "market": "0xabc",
        "timestamp": "1757908892351",
        "changes": [{"price": "0.4", "side": "SELL", "size": "3"}],
    }
    result = polymarket_frames.parse_ws_frame(batched, received_at=NOW)
    updates = result.of_type(BookUpdateRecord)
    assert [(u.venue_market_id, u.side, u.price, u.size) for u in updates] == [
        ("A", "bid", 0.5, 200.0),
        ("B", "ask", 0.5, 0.0),
    ]
    ticks = result.of_type(TickRecord)
    assert [(t.venue_market_id, t.bid, t.ask) for t in ticks] == [
        ("A", 0.5, None),
        ("B", None, 0.5),
    ]
    [update] = polymarket_frames.parse_ws_frame(legacy, received_at=NOW).records
    assert isinstance(update, BookUpdateRecord)
    assert (update.venue_market_id, update.side, update.price) == ("A", "ask", 0.4)


def test_polymarket_market_resolved_and_unknown_event() -> None:
    resolved = {
        "event_type": "market_resolved",
        "id": "1",
        "market": "0xabc",
        "assets_ids": ["Y", "N"],
        "winning_asset_id": "N",
        "winning_outcome": "No",
        "timestamp": "1766790415550",
    }
    [record] = polymarket_frames.parse_ws_frame(resolved, received_at=NOW).records
    assert (record.venue_market_id, record.resolution) == ("Y", "no")  # type: ignore[union-attr]
    result = polymarket_frames.parse_ws_frame({"event_type": "surprise"}, received_at=NOW)
    assert result.rejected[0].reason.startswith("unknown_enum")
    assert polymarket_frames.parse_ws_frame("PONG", received_at=NOW).rejected == []


def test_polymarket_fee_schedule_with_other_exponent_is_unknown() -> None:
    market = load("polymarket/gamma_get_market_sports_closed.json")
    market["feeSchedule"] = {"rate": 0.25, "exponent": 2}
    [record] = polymarket.parse_market(market, received_at=NOW).of_type(MarketRecord)
    assert record.fee_rate is None


@pytest.mark.parametrize(
    ("changes", "status", "resolution"),
    [
        ({"status": "initialized"}, "closed", None),
        ({"status": "closed"}, "closed", None),
        ({"status": "determined", "result": "yes"}, "pending_resolution", None),
        ({"status": "disputed", "result": "yes"}, "pending_resolution", None),
        ({"status": "finalized", "result": "no"}, "resolved", "no"),
        ({"status": "settled", "result": "yes"}, "resolved", "yes"),
        ({"status": "finalized", "result": "void"}, "void", "void"),
    ],
)
def test_kalshi_lifecycle(changes: dict[str, Any], status: str, resolution: str | None) -> None:
    changes = {**changes, "settlement_ts": "2026-02-01T12:00:00Z"}
    result = kalshi.parse_markets(_kalshi_market(**changes), received_at=NOW)
    market = result.of_type(MarketRecord)[0]
    assert (market.status, market.resolution) == (status, resolution)
    if resolution is not None:
        assert market.resolved_at == datetime(2026, 2, 1, 12, tzinfo=UTC)
    else:
        assert market.resolved_at is None
    # Only an open market contributes a quote.
    assert len(result.of_type(TickRecord)) == (1 if status == "open" else 0) + 1


def test_kalshi_series_fee_terms_reach_the_markets() -> None:
    page = _kalshi_market()
    standard = kalshi.parse_markets(page, received_at=NOW, fee_multipliers={})
    assert {m.fee_multiplier for m in standard.of_type(MarketRecord)} == {None}
    assert {m.fee_schedule for m in standard.of_type(MarketRecord)} == {"kalshi"}
    halved = kalshi.parse_markets(
        page, received_at=NOW, fee_multipliers={"KXELONMARS": Decimal("0.5")}
    )
    assert {m.fee_multiplier for m in halved.of_type(MarketRecord)} == {Decimal("0.5")}
    flat = kalshi.series_record({"ticker": "KXELONMARS", "fee_type": "flat", "fee_multiplier": 1})
    unknown = kalshi.parse_markets(
        page, received_at=NOW, fee_multipliers={"KXELONMARS": kalshi.fee_multiplier_of(flat)}
    )
    assert {m.fee_schedule for m in unknown.of_type(MarketRecord)} == {None}


def test_polymarket_closed_market_awaiting_uma_is_pending() -> None:
    market = load("polymarket/gamma_get_market_sports_closed.json")
    market["umaResolutionStatus"] = "disputed"
    [record] = polymarket.parse_market(market, received_at=NOW).of_type(MarketRecord)
    assert (record.status, record.resolution, record.resolved_at) == (
        "pending_resolution",
        None,
        None,
    )
    assert record.title.endswith(" — FaZe")
