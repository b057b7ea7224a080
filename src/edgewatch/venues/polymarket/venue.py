"""Polymarket as a polling ``Venue``: open markets from Gamma and their current quotes.

Each ``fetch`` pages through Gamma's open markets (keyset paging, at most ``max_pages`` pages);
the quotes are Gamma's best bid, best ask and last trade price for each market's first outcome.
Markets that close or resolve are seen again through ``watch``: known market ids whose current
state is fetched one by one (``GET /markets/{id}``) on every poll.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from edgewatch.clock import utcnow
from edgewatch.errors import NotFound
from edgewatch.venues.base import Capabilities, FetchResult, MarketRecord, TickRecord
from edgewatch.venues.polymarket.client import PolymarketClient
from edgewatch.venues.polymarket.parsing import parse_market, parse_markets
from edgewatch.venues.records import ParseResult


class PolymarketVenue:
    name = "polymarket"
    capabilities = Capabilities(order_book=True, trades=True)

    def __init__(
        self,
        client: PolymarketClient,
        *,
        max_pages: int | None = 20,
        watch: tuple[str, ...] = (),
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        #: When a response was received; replay passes the recorded time.
        self._now = now
        self.max_pages = max_pages
        #: Gamma market ids (not token ids) to refresh on every poll, e.g. markets about to close.
        self.watch = watch

    def close(self) -> None:
        """Close the venue's HTTP connections (the venue owns its client)."""
        self.client.close()

    def fetch(self, *, since: datetime | None, until: datetime) -> FetchResult:
        """Markets as of now and their current quotes (no tick history through this path)."""
        result = FetchResult()
        for body in self.client.market_pages(closed=False, max_pages=self.max_pages):
            _merge(result, parse_markets(body, received_at=self._now()))
        for market_id in self.watch:
            try:
                body = self.client.market(market_id)
            except NotFound:
                continue
            _merge(result, parse_market(body, received_at=self._now()))
        return result


def _merge(result: FetchResult, parsed: ParseResult) -> None:
    result.markets.extend(parsed.of_type(MarketRecord))
    result.ticks.extend(parsed.of_type(TickRecord))
    result.rejected.extend(parsed.rejected)
