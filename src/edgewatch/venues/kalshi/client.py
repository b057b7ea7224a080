"""Kalshi Trade API v2 REST client: public market data, and signed requests for private ones.

Methods return response bodies exactly as Kalshi sent them (decoded JSON); ``parsing`` turns
them into records. List endpoints are paged with Kalshi's ``cursor`` (an empty cursor ends the
list); ``/markets`` excludes multivariate combo markets (``mve_filter=exclude``) unless asked,
because unfiltered listings are mostly combos.

Private endpoints need an API key: ``KalshiSigner`` adds ``KALSHI-ACCESS-KEY``,
``KALSHI-ACCESS-TIMESTAMP`` (milliseconds) and ``KALSHI-ACCESS-SIGNATURE`` (RSA-PSS with SHA-256,
salt the digest length, base64) over ``timestamp + METHOD + path`` (path without the query), to
every request, retries included, each with a fresh timestamp.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from edgewatch.errors import ConfigError
from edgewatch.venues.http import DEFAULT_TIMEOUT_SECONDS, create_http_client
from edgewatch.venues.resilience import (
    CircuitBreaker,
    ResilientHttp,
    RetryPolicy,
    Sleep,
    TokenBucket,
)

KALSHI_BASE_URL = "https://api.elections.kalshi.com/trade-api/v2"
#: Basic access tier: 20 reads per second (docs.kalshi.com, "Rate Limits").
KALSHI_READS_PER_SECOND = 20.0
MAX_PAGE_SIZE = 1000


class KalshiSigner(httpx.Auth):
    """Signs every request with an RSA private key (Kalshi API keys)."""

    def __init__(
        self,
        key_id: str,
        private_key: rsa.RSAPrivateKey,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key_id = key_id
        self._key = private_key
        self._clock = clock

    @classmethod
    def from_pem_file(cls, key_id: str, path: Path | str) -> KalshiSigner:
        """Load the private key from a PEM file (a mounted secret); ``ConfigError`` if unusable."""
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"cannot load the Kalshi private key from {path}: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError(f"the Kalshi private key in {path} is not an RSA key")
        return cls(key_id, key)

    def signature(self, timestamp_ms: str, method: str, path: str) -> str:
        message = f"{timestamp_ms}{method.upper()}{path}".encode()
        signed = self._key.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        return base64.b64encode(signed).decode("ascii")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = str(int(self._clock() * 1000))
        request.headers["KALSHI-ACCESS-KEY"] = self.key_id
        request.headers["KALSHI-ACCESS-TIMESTAMP"] = timestamp
        request.headers["KALSHI-ACCESS-SIGNATURE"] = self.signature(
            timestamp, request.method, request.url.path
        )
        yield request


class KalshiClient:
    """Kalshi REST endpoints behind the shared rate limiter, breaker and retry policy."""

    venue = "kalshi"

    def __init__(
        self,
        *,
        base_url: str = KALSHI_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        signer: KalshiSigner | None = None,
        limiter: TokenBucket | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.signer = signer
        self._client = create_http_client(
            base_url=base_url, timeout=timeout, transport=transport, auth=signer
        )
        self.http = ResilientHttp(
            self._client,
            venue=self.venue,
            limiter=limiter or TokenBucket(KALSHI_READS_PER_SECOND),
            breaker=breaker or CircuitBreaker(self.venue),
            policy=retry,
            sleep=sleep,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> KalshiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """Any endpoint, e.g. a private one (``/portfolio/balance``) when a signer is set."""
        return self.http.get_json(
            path, params={k: v for k, v in (params or {}).items() if v is not None}
        )

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        max_pages: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[Any]:
        """Every page of a cursor-paged list, in order, until the cursor comes back empty.

        ``cursor`` resumes a listing where an interrupted one stopped.
        """
        query = dict(params or {})
        if cursor:
            query["cursor"] = cursor
        seen: set[str] = set()
        for _ in range(max_pages if max_pages is not None else 1_000_000):
            body = self.get(path, params=query)
            yield body
            following = body.get("cursor") if isinstance(body, dict) else None
            if not isinstance(following, str) or not following or following in seen:
                return
            seen.add(following)
            query["cursor"] = following

    # --- public market data --------------------------------------------------------------------

    def exchange_status(self) -> Any:
        return self.get("/exchange/status")

    def series(self, series_ticker: str) -> Any:
        return self.get(f"/series/{series_ticker}")

    def series_list(self, *, category: str | None = None) -> Any:
        return self.get("/series", params={"category": category})

    def event(self, event_ticker: str, *, with_nested_markets: bool = False) -> Any:
        params = {"with_nested_markets": "true"} if with_nested_markets else None
        return self.get(f"/events/{event_ticker}", params=params)

    def event_pages(
        self,
        *,
        status: str | None = None,
        series_ticker: str | None = None,
        with_nested_markets: bool = True,
        limit: int = 200,
        max_pages: int | None = None,
    ) -> Iterator[Any]:
        params = {
            "status": status,
            "series_ticker": series_ticker,
            "with_nested_markets": "true" if with_nested_markets else None,
            "limit": limit,
        }
        return self.pages("/events", params=params, max_pages=max_pages)

    def market_pages(
        self,
        *,
        status: str | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        mve_filter: str | None = "exclude",
        min_close_ts: int | None = None,
        limit: int = MAX_PAGE_SIZE,
        max_pages: int | None = None,
    ) -> Iterator[Any]:
        """``GET /markets`` page by page; combo markets excluded unless ``mve_filter`` says so."""
        params = {
            "status": status,
            "event_ticker": event_ticker,
            "series_ticker": series_ticker,
            "mve_filter": mve_filter,
            "min_close_ts": min_close_ts,
            "limit": limit,
        }
        return self.pages("/markets", params=params, max_pages=max_pages)

    def market(self, ticker: str) -> Any:
        return self.get(f"/markets/{ticker}")

    def orderbook(self, ticker: str, *, depth: int | None = None) -> Any:
        return self.get(f"/markets/{ticker}/orderbook", params={"depth": depth})

    def trade_pages(
        self,
        *,
        ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        limit: int = MAX_PAGE_SIZE,
        max_pages: int | None = None,
    ) -> Iterator[Any]:
        params = {"ticker": ticker, "min_ts": min_ts, "max_ts": max_ts, "limit": limit}
        return self.pages("/markets/trades", params=params, max_pages=max_pages)

    def candlesticks(
        self,
        series_ticker: str,
        ticker: str,
        *,
        start_ts: int,
        end_ts: int,
        period_interval: int = 60,
    ) -> Any:
        """Candles of ``period_interval`` minutes (1, 60 or 1440) between epoch seconds."""
        return self.get(
            f"/series/{series_ticker}/markets/{ticker}/candlesticks",
            params={"start_ts": start_ts, "end_ts": end_ts, "period_interval": period_interval},
        )

    # --- private (signed) ----------------------------------------------------------------------

    def balance(self) -> Any:
        if self.signer is None:
            raise ConfigError("Kalshi private endpoints need an API key (KalshiSigner)")
        return self.get("/portfolio/balance")
