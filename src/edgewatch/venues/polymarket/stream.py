"""Polymarket market-channel WebSocket: books, price changes, trades, resolutions.

Subscribe with token ids (the first outcome's token is enough: the second outcome's book is its
mirror). ``custom_feature_enabled`` adds ``best_bid_ask``, ``new_market`` and
``market_resolved``. The channel wants a text ``PING`` about every 10 seconds and can stall
without closing, so the stream pings and treats silence as a dead connection. Frames go through
``parsing.parse_ws_frame``.
"""

from __future__ import annotations

import json

from edgewatch.venues.resilience import CircuitBreaker, ReconnectingStream, RetryPolicy

POLYMARKET_WS_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
KEEPALIVE = "PING"
KEEPALIVE_SECONDS = 10.0


def subscribe_messages(assets: frozenset[str]) -> list[str]:
    """The first message of a connection: every asset, with the custom events on."""
    message = {"assets_ids": sorted(assets), "type": "market", "custom_feature_enabled": True}
    return [json.dumps(message)]


def add_messages(assets: frozenset[str]) -> list[str]:
    """Adding assets to a live connection."""
    if not assets:
        return []
    message = {
        "assets_ids": sorted(assets),
        "operation": "subscribe",
        "custom_feature_enabled": True,
    }
    return [json.dumps(message)]


def polymarket_stream(
    *,
    url: str = POLYMARKET_WS_URL,
    breaker: CircuitBreaker | None = None,
    silence_timeout: float = 30.0,
    policy: RetryPolicy | None = None,
) -> ReconnectingStream:
    return ReconnectingStream(
        url=url,
        subscribe_messages=subscribe_messages,
        add_messages=add_messages,
        breaker=breaker or CircuitBreaker("polymarket-stream"),
        keepalive=KEEPALIVE,
        keepalive_interval=KEEPALIVE_SECONDS,
        silence_timeout=silence_timeout,
        policy=policy,
    )
