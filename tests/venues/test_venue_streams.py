"""Reconnecting WebSocket streams against a local server that drops, stalls and replays."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.server import Server, ServerConnection, serve

from edgewatch.venues.kalshi.stream import kalshi_stream
from edgewatch.venues.polymarket.frames import parse_ws_frame
from edgewatch.venues.polymarket.stream import polymarket_stream
from edgewatch.venues.records import OrderBookRecord
from edgewatch.venues.resilience import CircuitBreaker, RetryPolicy

Behaviour = Callable[[ServerConnection, int, list[str]], None]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "venues"
FAST = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05)
BOOK_FRAMES = (FIXTURES / "polymarket/ws_market_book.jsonl").read_text().splitlines()


class WsServer:
    """Runs ``behaviour(connection, number)`` for each connection; records what clients sent."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.received: list[list[str]] = []
        self._lock = threading.Lock()

        def handler(connection: ServerConnection) -> None:
            with self._lock:
                number = len(self.received)
                self.received.append([])
            inbox = self.received[number]

            def listen() -> None:
                try:
                    for message in connection:
                        inbox.append(str(message))
                except Exception:
                    return

            threading.Thread(target=listen, daemon=True).start()
            behaviour(connection, number, inbox)

        self.server: Server = serve(handler, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def ws_server() -> Iterator[Callable[[Behaviour], WsServer]]:
    servers: list[WsServer] = []

    def start(behaviour: Behaviour) -> WsServer:
        server = WsServer(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def wait_for_messages(inbox: list[str], count: int = 1) -> None:
    for _ in range(500):
        if len(inbox) >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"expected {count} client message(s), got {inbox!r}")


def test_dropped_connection_reconnects_resubscribes_and_loses_nothing(ws_server: Any) -> None:
    def behaviour(connection: ServerConnection, number: int, inbox: list[str]) -> None:
        wait_for_messages(inbox)
        if number == 0:
            for frame in BOOK_FRAMES[:4]:
                connection.send(frame)
            connection.close()  # dropped mid-stream
        else:
            for frame in BOOK_FRAMES[4:]:
                connection.send(frame)
            threading.Event().wait(2)

    server = ws_server(behaviour)
    stream = polymarket_stream(
        url=server.url, breaker=CircuitBreaker("ws-drop-test"), silence_timeout=5, policy=FAST
    )
    stream.subscribe(["asset-1", "asset-2"])
    received = []
    for frame in stream.frames():
        received.append(frame.text)
        if len(received) == len(BOOK_FRAMES):
            break
    assert received == BOOK_FRAMES
    assert stream.connects == 2
    subscriptions = [json.loads(messages[0]) for messages in server.received]
    assert [s["assets_ids"] for s in subscriptions] == [["asset-1", "asset-2"]] * 2
    assert all(s["type"] == "market" and s["custom_feature_enabled"] for s in subscriptions)
    books = [
        record
        for text in received
        for record in parse_ws_frame(json.loads(text), received_at=frame.received_at).records
        if isinstance(record, OrderBookRecord)
    ]
    assert len(books) == len(BOOK_FRAMES)


def test_silent_stream_is_treated_as_dead_and_replaced(ws_server: Any) -> None:
    def behaviour(connection: ServerConnection, number: int, inbox: list[str]) -> None:
        wait_for_messages(inbox)
        if number >= 1:
            connection.send(BOOK_FRAMES[0])
        threading.Event().wait(2)  # then say nothing, like a stalled feed

    server = ws_server(behaviour)
    stream = polymarket_stream(
        url=server.url, breaker=CircuitBreaker("ws-silence-test"), silence_timeout=0.3, policy=FAST
    )
    stream.subscribe(["asset-1"])
    frame = next(stream.frames())
    assert frame.text == BOOK_FRAMES[0]
    assert stream.connects == 2


def test_polymarket_stream_pings_and_ignores_pong(ws_server: Any) -> None:
    def behaviour(connection: ServerConnection, number: int, inbox: list[str]) -> None:
        wait_for_messages(inbox)
        wait_for_messages(inbox, 2)  # a keepalive comes before any data does
        connection.send("PONG")
        connection.send(BOOK_FRAMES[0])
        threading.Event().wait(2)

    server = ws_server(behaviour)
    stream = polymarket_stream(url=server.url, breaker=CircuitBreaker("ws-ping-test"), policy=FAST)
    stream.keepalive_interval = 0.05
    stream.subscribe(["asset-1"])
    stop = threading.Event()
    frames = stream.frames(stop=stop)
    assert next(frames).text == BOOK_FRAMES[0]
    stop.set()
    for _ in frames:
        pass
    threading.Event().wait(0.1)
    assert "PING" in server.received[0]


def test_kalshi_subscribe_command_and_added_markets(ws_server: Any) -> None:
    ticker = (FIXTURES / "kalshi/ws_ticker.jsonl").read_text().splitlines()[0]

    def behaviour(connection: ServerConnection, number: int, inbox: list[str]) -> None:
        wait_for_messages(inbox)
        connection.send(ticker)
        wait_for_messages(inbox, 2)  # the added market
        connection.send(ticker)
        threading.Event().wait(2)

    server = ws_server(behaviour)
    stream = kalshi_stream(url=server.url, breaker=CircuitBreaker("kalshi-ws-test"), policy=FAST)
    stream.subscribe(["KXA"])
    frames = stream.frames()
    next(frames)
    stream.subscribe(["KXA", "KXB"])
    next(frames)
    first, added = (json.loads(message) for message in server.received[0][:2])
    assert first["cmd"] == "subscribe"
    assert first["params"] == {"channels": ["ticker", "trade"], "market_tickers": ["KXA"]}
    assert added["params"]["market_tickers"] == ["KXB"]


def test_restart_reconnects_and_resubscribes(ws_server: Any) -> None:
    def behaviour(connection: ServerConnection, number: int, inbox: list[str]) -> None:
        wait_for_messages(inbox)
        connection.send(BOOK_FRAMES[number])
        threading.Event().wait(2)

    server = ws_server(behaviour)
    stream = kalshi_stream(url=server.url, breaker=CircuitBreaker("restart-test"), policy=FAST)
    stream.subscribe(["KXA"])
    frames = stream.frames()
    assert next(frames).text == BOOK_FRAMES[0]
    stream.restart()  # e.g. KalshiBooks reported a sequence gap
    assert next(frames).text == BOOK_FRAMES[1]
    assert stream.connects == 2
    assert all("KXA" in messages[0] for messages in server.received)
