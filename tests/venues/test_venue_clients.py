"""Venue clients against a real local HTTP server that injects 429s, 500s, timeouts and dropped
connections: the clients recover, lose no page, and the circuit breaker stops the hammering."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from edgewatch.errors import ConfigError, NotFound, VenueUnavailable
from edgewatch.venues.base import MarketRecord, TickRecord, Venue
from edgewatch.venues.kalshi.client import KalshiClient, KalshiSigner
from edgewatch.venues.kalshi.parsing import parse_markets
from edgewatch.venues.kalshi.venue import KalshiVenue
from edgewatch.venues.normalize import unwrap_recording
from edgewatch.venues.polymarket.client import PolymarketClient
from edgewatch.venues.polymarket.venue import PolymarketVenue
from edgewatch.venues.resilience import (
    CircuitBreaker,
    RetryPolicy,
    TokenBucket,
    circuit_states,
)
from venue_server import Answer, ScriptedServer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "venues"
API = "/trade-api/v2"
FAST = RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.01)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fixture_body(name: str) -> Any:
    return unwrap_recording(json.loads((FIXTURES / name).read_text()))[0]


def kalshi_page(tickers: list[str], cursor: str) -> dict[str, Any]:
    template = fixture_body("kalshi/rest_get_event.json")["markets"][0]
    return {"markets": [dict(template, ticker=t) for t in tickers], "cursor": cursor}


def kalshi_client(server: ScriptedServer, **kwargs: Any) -> KalshiClient:
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("breaker", CircuitBreaker("kalshi-test", failure_threshold=50))
    return KalshiClient(base_url=server.url + API, timeout=0.5, **kwargs)


def test_kalshi_paging_survives_every_fault_and_loses_no_page(venue_server: ScriptedServer) -> None:
    sleeps: list[float] = []
    venue_server.script(
        f"{API}/markets",
        Answer(429),  # Kalshi sends no Retry-After: back off
        Answer(200, kalshi_page(["A", "B"], "c1")),
        Answer(500, {"error": "internal"}),
        Answer(fault="drop"),
        Answer(200, kalshi_page(["C"], "c2")),
        Answer(fault="stall", delay=1.0, body=kalshi_page(["late"], "")),
        Answer(429, headers={"Retry-After": "2"}),
        Answer(200, kalshi_page(["D"], "")),
    )
    with kalshi_client(venue_server, sleep=sleeps.append) as client:
        pages = list(client.market_pages(status="open"))
    tickers = [
        m.venue_market_id
        for page in pages
        for m in parse_markets(page, received_at=datetime.now(UTC)).of_type(MarketRecord)
    ]
    assert tickers == ["A", "B", "C", "D"]
    cursors = [seen.query.get("cursor") for seen in venue_server.requests_to(f"{API}/markets")]
    assert cursors == [None, None, "c1", "c1", "c1", "c2", "c2", "c2"]
    assert all(seen.query["mve_filter"] == "exclude" for seen in venue_server.seen)
    assert 2.0 in sleeps  # Retry-After honoured
    assert len(sleeps) == 5


def test_kalshi_gives_up_with_venue_unavailable(venue_server: ScriptedServer) -> None:
    venue_server.script(f"{API}/markets/X", Answer(503))
    client = kalshi_client(venue_server, sleep=lambda _: None)
    with client, pytest.raises(VenueUnavailable, match="HTTP 503"):
        client.market("X")
    assert len(venue_server.requests_to(f"{API}/markets/X")) == FAST.max_attempts


def test_client_errors_are_not_retried(venue_server: ScriptedServer) -> None:
    venue_server.script(f"{API}/markets/NOPE", Answer(404, {"error": "not found"}))
    venue_server.script(f"{API}/portfolio/balance", Answer(401, {"error": "unauthorized"}))
    with kalshi_client(venue_server) as client:
        with pytest.raises(NotFound):
            client.market("NOPE")
        with pytest.raises(ConfigError):
            client.get("/portfolio/balance")
    assert len(venue_server.seen) == 2


def test_circuit_opens_after_repeated_failures_and_half_opens_after_cool_down(
    venue_server: ScriptedServer,
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(
        "kalshi-breaker-test", failure_threshold=3, reset_timeout=30, clock=clock
    )
    retry = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
    venue_server.script(f"{API}/exchange/status", Answer(500))  # fails until told otherwise
    with kalshi_client(venue_server, breaker=breaker, retry=retry, sleep=lambda _: None) as client:
        with pytest.raises(VenueUnavailable):
            client.exchange_status()
        assert breaker.state == "open"
        assert circuit_states()["kalshi-breaker-test"] == "open"
        served = len(venue_server.seen)
        with pytest.raises(VenueUnavailable, match="circuit open"):
            client.exchange_status()
        assert len(venue_server.seen) == served  # nothing reached the venue

        clock.now += 31
        assert breaker.state == "half_open"
        venue_server.scripts[f"{API}/exchange/status"].clear()
        venue_server.script(f"{API}/exchange/status", Answer(200, {"exchange_active": True}))
        assert client.exchange_status() == {"exchange_active": True}
        assert breaker.state == "closed"


def test_failed_half_open_trial_opens_the_circuit_again() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("trial-test", failure_threshold=2, reset_timeout=10, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 10
    breaker.before_call()  # the one trial
    with pytest.raises(VenueUnavailable, match="trial"):
        breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(VenueUnavailable):
        breaker.before_call()


def test_token_bucket_holds_the_documented_rate() -> None:
    clock = FakeClock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    bucket = TokenBucket(20, clock=clock, sleep=sleep)
    start = clock.now
    for _ in range(60):
        bucket.acquire()
    # 20 in the initial burst, then 40 more at 20 per second.
    assert clock.now - start == pytest.approx(2.0)


def test_timeouts_apply_to_every_call(venue_server: ScriptedServer) -> None:
    venue_server.script(f"{API}/exchange/status", Answer(fault="stall", delay=2.0, body={}))
    retry = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)
    client = KalshiClient(
        base_url=venue_server.url + API,
        timeout=0.2,
        retry=retry,
        breaker=CircuitBreaker("timeout-test"),
        sleep=lambda _: None,
    )
    with client, pytest.raises(VenueUnavailable, match="Timeout"):
        client.exchange_status()


def _key_pem(tmp_path: Path) -> tuple[Path, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "kalshi.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key


def test_kalshi_signs_private_requests_with_rsa_pss(
    venue_server: ScriptedServer, tmp_path: Path
) -> None:
    path, key = _key_pem(tmp_path)
    signer = KalshiSigner.from_pem_file("key-id-1", path)
    venue_server.script(f"{API}/portfolio/balance", Answer(500), Answer(200, {"balance": 1000}))
    with kalshi_client(venue_server, signer=signer, sleep=lambda _: None) as client:
        assert client.balance() == {"balance": 1000}
    requests = venue_server.requests_to(f"{API}/portfolio/balance")
    assert len(requests) == 2  # the retry is signed too
    for seen in requests:
        headers = {name.lower(): value for name, value in seen.headers.items()}
        assert headers["kalshi-access-key"] == "key-id-1"
        message = f"{headers['kalshi-access-timestamp']}GET{API}/portfolio/balance".encode()
        key.public_key().verify(
            base64.b64decode(headers["kalshi-access-signature"]),
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )


def test_signer_refuses_an_unusable_key_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match="private key"):
        KalshiSigner.from_pem_file("id", bad)
    with pytest.raises(ConfigError):
        KalshiSigner.from_pem_file("id", tmp_path / "missing.pem")


def test_kalshi_venue_fetches_markets_quotes_and_series_fees(venue_server: ScriptedServer) -> None:
    venue_server.script(
        f"{API}/series",
        Answer(
            200,
            {"series": [{"ticker": "KXELONMARS", "fee_type": "quadratic", "fee_multiplier": 0.5}]},
        ),
    )
    venue_server.script(f"{API}/markets", Answer(200, kalshi_page(["KXELONMARS-99"], "")))
    with kalshi_client(venue_server) as client:
        venue: Venue = KalshiVenue(client)
        result = venue.fetch(since=None, until=datetime.now(UTC))
    [market] = result.markets
    assert market.fee_multiplier == Decimal("0.5") and market.fee_schedule == "kalshi"
    [tick] = result.ticks
    assert isinstance(tick, TickRecord) and (tick.bid, tick.ask) == (0.06, 0.07)
    assert venue.capabilities.order_book and not venue.capabilities.authenticated


# --- Polymarket ----------------------------------------------------------------------------------


def polymarket_client(server: ScriptedServer, **kwargs: Any) -> PolymarketClient:
    return PolymarketClient(
        gamma_url=server.url,
        clob_url=server.url,
        timeout=0.5,
        retry=FAST,
        breaker=CircuitBreaker("polymarket-test", failure_threshold=50),
        **kwargs,
    )


def gamma_page(ids: list[str], cursor: str | None) -> dict[str, Any]:
    template = fixture_body("polymarket/gamma_get_market.json")
    markets = [dict(template, id=i, clobTokenIds=json.dumps([f"tok-{i}", f"no-{i}"])) for i in ids]
    page: dict[str, Any] = {"markets": markets}
    if cursor:
        page["next_cursor"] = cursor
    return page


def test_polymarket_keyset_paging_recovers_and_loses_no_page(venue_server: ScriptedServer) -> None:
    sleeps: list[float] = []
    venue_server.script(
        "/markets/keyset",
        Answer(200, gamma_page(["1", "2"], "k1")),
        Answer(429, headers={"Retry-After": "1"}),
        Answer(fault="drop"),
        Answer(200, gamma_page(["3"], "k2")),
        Answer(502),
        Answer(200, gamma_page(["4"], None)),
    )
    with polymarket_client(venue_server, sleep=sleeps.append) as client:
        venue = PolymarketVenue(client)
        result = venue.fetch(since=None, until=datetime.now(UTC))
    assert [m.venue_market_id for m in result.markets] == ["tok-1", "tok-2", "tok-3", "tok-4"]
    assert len(result.ticks) == 4
    requests = venue_server.requests_to("/markets/keyset")
    assert [seen.query.get("cursor") for seen in requests] == [None, "k1", "k1", "k1", "k2", "k2"]
    assert all(seen.query["closed"] == "false" for seen in requests)
    assert 1.0 in sleeps


def test_polymarket_repeated_cursor_ends_paging(venue_server: ScriptedServer) -> None:
    venue_server.script("/markets/keyset", Answer(200, gamma_page(["1"], "same")))
    with polymarket_client(venue_server) as client:
        pages = list(client.market_pages(closed=True))
    assert len(pages) == 2
    assert [seen.query.get("closed") for seen in venue_server.seen] == ["true", "true"]


def test_polymarket_clob_endpoints(venue_server: ScriptedServer) -> None:
    venue_server.script("/book", Answer(200, fixture_body("polymarket/clob_get_book.json")))
    venue_server.script("/midpoint", Answer(200, {"mid": "0.12"}))
    venue_server.script("/price", Answer(200, {"price": "0.14"}))
    venue_server.script("/prices-history", Answer(200, {"history": [{"t": 1, "p": 0.5}]}))
    with polymarket_client(venue_server) as client:
        assert client.book("T")["asset_id"]
        assert client.midpoint("T") == {"mid": "0.12"}
        assert client.price("T", side="BUY") == {"price": "0.14"}
        assert client.prices_history("T", interval="1d") == {"history": [{"t": 1, "p": 0.5}]}
    assert venue_server.requests_to("/prices-history")[0].query == {"market": "T", "interval": "1d"}


def test_mock_transport_seam() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"exchange_active": True, "trading_active": False})

    client = KalshiClient(transport=httpx.MockTransport(handler), breaker=CircuitBreaker("mock"))
    with client:
        assert client.exchange_status()["trading_active"] is False
