"""Against the real venues; skipped unless EDGEWATCH_LIVE_TESTS=1 (they need the internet)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edgewatch.venues.base import MarketRecord
from edgewatch.venues.kalshi.client import KalshiClient
from edgewatch.venues.kalshi.market_data import parse_orderbook
from edgewatch.venues.kalshi.parsing import parse_markets
from edgewatch.venues.kalshi.venue import KalshiVenue
from edgewatch.venues.polymarket.client import PolymarketClient
from edgewatch.venues.polymarket.parsing import parse_book
from edgewatch.venues.polymarket.parsing import parse_markets as parse_gamma
from edgewatch.venues.polymarket.venue import PolymarketVenue

pytestmark = pytest.mark.live


def test_kalshi_open_markets_parse_without_rejections() -> None:
    with KalshiClient() as client:
        [page] = list(client.market_pages(status="open", limit=50, max_pages=1))
        result = parse_markets(page, received_at=datetime.now(UTC))
        markets = result.of_type(MarketRecord)
        assert markets and not result.rejected
        book = client.orderbook(markets[0].venue_market_id)
        assert not parse_orderbook(
            book, market_id=markets[0].venue_market_id, received_at=datetime.now(UTC)
        ).rejected


def test_kalshi_venue_fetch() -> None:
    with KalshiClient() as client:
        result = KalshiVenue(client, max_pages=1).fetch(since=None, until=datetime.now(UTC))
    assert result.markets


def test_polymarket_open_markets_and_a_book() -> None:
    with PolymarketClient() as client:
        [page] = list(client.market_pages(limit=20, max_pages=1))
        result = parse_gamma(page, received_at=datetime.now(UTC))
        markets = result.of_type(MarketRecord)
        assert markets
        book = client.book(markets[0].venue_market_id)
        assert not parse_book(book, received_at=datetime.now(UTC)).rejected


def test_polymarket_venue_fetch() -> None:
    with PolymarketClient() as client:
        result = PolymarketVenue(client, max_pages=1).fetch(since=None, until=datetime.now(UTC))
    assert result.markets
