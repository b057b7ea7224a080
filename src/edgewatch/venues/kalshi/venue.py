"""Kalshi as a polling ``Venue``: the open markets (combos excluded) and their current quotes.

Each ``fetch`` pages through ``GET /markets?status=open`` and, when ``since`` is given, the
markets that closed since then (so closings and settlements are seen without a restart). Series
fee terms are read from ``GET /series`` at most once per ``series_ttl`` seconds; if that fails the
markets keep Kalshi's standard fee terms (multiplier 1) rather than none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from edgewatch.clock import utcnow
from edgewatch.errors import InvalidInput, VenueUnavailable
from edgewatch.venues.base import Capabilities, FetchResult, MarketRecord, TickRecord
from edgewatch.venues.kalshi.client import KalshiClient
from edgewatch.venues.kalshi.parsing import fee_multiplier_of, parse_markets, parse_series
from edgewatch.venues.records import ParseResult, SeriesRecord


class KalshiVenue:
    name = "kalshi"

    def __init__(
        self,
        client: KalshiClient,
        *,
        max_pages: int | None = 20,
        series_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        #: When a response was received; replay passes the recorded time.
        self._now = now
        self.max_pages = max_pages
        self.series_ttl = series_ttl
        self._clock = clock
        self._fee_multipliers: dict[str, Decimal | None] | None = None
        self._series_loaded_at = 0.0
        self.capabilities = Capabilities(
            order_book=True, trades=True, authenticated=client.signer is not None
        )

    def fee_multipliers(self) -> dict[str, Decimal | None] | None:
        """Series ticker → fee multiplier (``None``: non-quadratic fee type), cached."""
        now = self._clock()
        if self._fee_multipliers is None or now - self._series_loaded_at >= self.series_ttl:
            try:
                parsed = parse_series(self.client.series_list())
            except VenueUnavailable:
                return self._fee_multipliers
            self._fee_multipliers = {
                series.series_id: fee_multiplier_of(series)
                for series in parsed.of_type(SeriesRecord)
            }
            self._series_loaded_at = now
        return self._fee_multipliers

    def close(self) -> None:
        """Close the venue's HTTP connections (the venue owns its client)."""
        self.client.close()

    def fetch(self, *, since: datetime | None, until: datetime) -> FetchResult:
        """Markets as of now and their current quotes (Kalshi has no tick history to replay)."""
        multipliers = self.fee_multipliers()
        result = FetchResult()
        pages: list[Iterable[Any]] = [
            self.client.market_pages(status="open", max_pages=self.max_pages)
        ]
        if since is not None:
            pages.append(
                self.client.market_pages(
                    status="closed", min_close_ts=int(since.timestamp()), max_pages=self.max_pages
                )
            )
            pages.append(
                self.client.market_pages(
                    status="settled", min_close_ts=int(since.timestamp()), max_pages=self.max_pages
                )
            )
        for number, listing in enumerate(pages):
            try:
                for body in listing:
                    _merge(
                        result,
                        parse_markets(body, received_at=self._now(), fee_multipliers=multipliers),
                    )
            except InvalidInput:
                # The open listing must work; the catch-up listings of closed and settled markets
                # are best effort (a filter combination the venue refuses must not stop polling).
                if number == 0:
                    raise
        return result


def _merge(result: FetchResult, parsed: ParseResult) -> None:
    result.markets.extend(parsed.of_type(MarketRecord))
    result.ticks.extend(parsed.of_type(TickRecord))
    result.rejected.extend(parsed.rejected)
