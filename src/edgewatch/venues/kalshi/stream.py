"""Kalshi WebSocket market data: ``ticker``, ``trade`` and ``orderbook_delta`` subscriptions.

The connection is signed like a REST request (``GET /trade-api/ws/v2``) when a signer is given;
``orderbook_delta`` needs it, ``ticker`` and ``trade`` do not. Frames go through
``parsing.parse_ws_frame``, or ``book.KalshiBooks`` to keep full books with gap detection (a
gap means: resubscribe, which ``ReconnectingStream`` does on reconnect).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from edgewatch.venues.kalshi.client import KalshiSigner
from edgewatch.venues.resilience import CircuitBreaker, ReconnectingStream, RetryPolicy

KALSHI_WS_URL = "wss://api.elections.kalshi.com/trade-api/ws/v2"
PUBLIC_CHANNELS = ("ticker", "trade")
BOOK_CHANNEL = "orderbook_delta"


def subscribe_builder(channels: tuple[str, ...]) -> Callable[[frozenset[str]], list[str]]:
    """Subscribe commands for a set of market tickers (none when the set is empty)."""
    ids = itertools.count(1)

    def build(markets: frozenset[str]) -> list[str]:
        if not markets:
            return []
        command = {
            "id": next(ids),
            "cmd": "subscribe",
            "params": {"channels": list(channels), "market_tickers": sorted(markets)},
        }
        return [json.dumps(command)]

    return build


def signed_headers(signer: KalshiSigner, url: str) -> Callable[[], Mapping[str, str]]:
    path = urlsplit(url).path

    def headers() -> Mapping[str, str]:
        timestamp = str(int(time.time() * 1000))
        return {
            "KALSHI-ACCESS-KEY": signer.key_id,
            "KALSHI-ACCESS-TIMESTAMP": timestamp,
            "KALSHI-ACCESS-SIGNATURE": signer.signature(timestamp, "GET", path),
        }

    return headers


def kalshi_stream(
    *,
    url: str = KALSHI_WS_URL,
    signer: KalshiSigner | None = None,
    channels: tuple[str, ...] | None = None,
    breaker: CircuitBreaker | None = None,
    silence_timeout: float = 30.0,
    policy: RetryPolicy | None = None,
) -> ReconnectingStream:
    """A reconnecting Kalshi subscription; the book channel is included when signed."""
    if channels is None:
        channels = PUBLIC_CHANNELS + ((BOOK_CHANNEL,) if signer is not None else ())
    return ReconnectingStream(
        url=url,
        subscribe_messages=subscribe_builder(channels),
        breaker=breaker or CircuitBreaker("kalshi-stream"),
        headers=signed_headers(signer, url) if signer is not None else None,
        silence_timeout=silence_timeout,
        policy=policy,
    )
