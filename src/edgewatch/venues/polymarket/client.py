"""Polymarket REST client: Gamma (markets, events) and CLOB (book, price, midpoint, history).

Methods return bodies exactly as Polymarket sent them; ``parsing`` turns them into records.
Market and event listings use Gamma's keyset endpoints (``/markets/keyset``, ``/events/keyset``:
``{"markets"|"events": [...], "next_cursor"}``, no cursor on the last page) because offset
paging stops deep in the list; ``closed`` selects open or closed markets (Gamma's default is open
only). A cursor that repeats ends the paging rather than looping.

Rate limits (docs.polymarket.com, "Rate Limits"): Gamma ``/markets`` 300 requests per 10 s,
``/events`` 500 per 10 s; CLOB ``/book``, ``/price``, ``/midpoint`` 1,500 per 10 s and
``/prices-history`` 1,000 per 10 s. One limiter per host at the strictest endpoint we use.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import httpx

from edgewatch.venues.http import DEFAULT_TIMEOUT_SECONDS, create_http_client
from edgewatch.venues.resilience import (
    CircuitBreaker,
    ResilientHttp,
    RetryPolicy,
    Sleep,
    TokenBucket,
)

GAMMA_BASE_URL = "https://gamma-api.polymarket.com"
CLOB_BASE_URL = "https://clob.polymarket.com"
GAMMA_REQUESTS_PER_SECOND = 30.0
CLOB_REQUESTS_PER_SECOND = 100.0
MAX_MARKETS_PAGE = 100
MAX_EVENTS_PAGE = 500


class PolymarketClient:
    """Gamma and CLOB endpoints, each host behind its own limiter; one breaker for the venue."""

    venue = "polymarket"

    def __init__(
        self,
        *,
        gamma_url: str = GAMMA_BASE_URL,
        clob_url: str = CLOB_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        gamma_limiter: TokenBucket | None = None,
        clob_limiter: TokenBucket | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        breaker = breaker or CircuitBreaker(self.venue)
        self._gamma_client = create_http_client(
            base_url=gamma_url, timeout=timeout, transport=transport
        )
        self._clob_client = create_http_client(
            base_url=clob_url, timeout=timeout, transport=transport
        )
        self.gamma = ResilientHttp(
            self._gamma_client,
            venue=self.venue,
            limiter=gamma_limiter or TokenBucket(GAMMA_REQUESTS_PER_SECOND),
            breaker=breaker,
            policy=retry,
            sleep=sleep,
        )
        self.clob = ResilientHttp(
            self._clob_client,
            venue=self.venue,
            limiter=clob_limiter or TokenBucket(CLOB_REQUESTS_PER_SECOND),
            breaker=breaker,
            policy=retry,
            sleep=sleep,
        )

    def close(self) -> None:
        self._gamma_client.close()
        self._clob_client.close()

    def __enter__(self) -> PolymarketClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _keyset_pages(
        self, path: str, params: Mapping[str, Any], max_pages: int | None
    ) -> Iterator[Any]:
        query = {key: value for key, value in params.items() if value is not None}
        seen: set[str] = set()
        for _ in range(max_pages if max_pages is not None else 1_000_000):
            body = self.gamma.get_json(path, params=query)
            yield body
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                return
            seen.add(cursor)
            query["cursor"] = cursor

    # --- Gamma ---------------------------------------------------------------------------------

    def market_pages(
        self, *, closed: bool = False, limit: int = MAX_MARKETS_PAGE, max_pages: int | None = None
    ) -> Iterator[Any]:
        """``GET /markets/keyset`` page by page, open (default) or closed markets."""
        params = {"closed": "true" if closed else "false", "limit": limit}
        return self._keyset_pages("/markets/keyset", params, max_pages)

    def event_pages(
        self, *, closed: bool = False, limit: int = MAX_EVENTS_PAGE, max_pages: int | None = None
    ) -> Iterator[Any]:
        params = {"closed": "true" if closed else "false", "limit": limit}
        return self._keyset_pages("/events/keyset", params, max_pages)

    def market(self, market_id: str) -> Any:
        return self.gamma.get_json(f"/markets/{market_id}")

    def event(self, event_id: str) -> Any:
        return self.gamma.get_json(f"/events/{event_id}")

    # --- CLOB ----------------------------------------------------------------------------------

    def book(self, token_id: str) -> Any:
        return self.clob.get_json("/book", params={"token_id": token_id})

    def price(self, token_id: str, *, side: Literal["BUY", "SELL"]) -> Any:
        return self.clob.get_json("/price", params={"token_id": token_id, "side": side})

    def midpoint(self, token_id: str) -> Any:
        return self.clob.get_json("/midpoint", params={"token_id": token_id})

    def prices_history(
        self,
        token_id: str,
        *,
        interval: str | None = None,
        start_ts: int | None = None,
        end_ts: int | None = None,
        fidelity: int | None = None,
    ) -> Any:
        """Price points of one token: an ``interval`` (``1h``, ``1d``, ``1w``, ``max``...) or a
        ``start_ts``/``end_ts`` window in epoch seconds; ``fidelity`` is minutes per point."""
        params = {
            "market": token_id,
            "interval": interval,
            "startTs": start_ts,
            "endTs": end_ts,
            "fidelity": fidelity,
        }
        return self.clob.get_json(
            "/prices-history", params={k: v for k, v in params.items() if v is not None}
        )
