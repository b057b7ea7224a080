"""Rate limiting through the app: budgets per IP and per key, stricter routes, headers, exemptions,
trusted proxies, the Redis backend and failing open when Redis is down."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from ipaddress import ip_network
from typing import Any

import pytest
from redis import Redis

from edgewatch.api import ratelimit
from edgewatch.api.app import create_app
from edgewatch.api.client_address import client_ip
from edgewatch.api.ratelimit import Bucket, Decision, MemoryWindow, RedisWindow
from edgewatch.api.redis_client import RedisClient
from edgewatch.config import Settings
from edgewatch.observability.metrics import RATE_LIMITED, REDIS_ERRORS

REDIS_URL = os.environ.get("EDGEWATCH_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="EDGEWATCH_TEST_REDIS_URL is not set")
PUBLIC = "/api/v1/disclaimers"


def _settings(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


@pytest.fixture
def make_client(client_class: type[Any]) -> Iterator[Any]:
    """Build clients for apps with changed settings; each runs its lifespan."""
    opened: list[Any] = []

    def make(settings: Settings, *, peer: str = "198.51.100.7", app: Any = None) -> Any:
        """A client of a new app, or another address talking to the running ``app``."""
        # No credentials: the limiter runs before authentication, and tests choose the key.
        if app is not None:
            return client_class(app, client=(peer, 50000), headers={})
        client = client_class(create_app(settings), client=(peer, 50000), headers={})
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the shared test Redis, deleted afterwards."""
    assert REDIS_URL
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    keys = list(redis.scan_iter(f"{prefix}:*"))
    if keys:
        redis.delete(*keys)
    redis.close()


def counter_value(metric: Any, **labels: str) -> float:
    """One sample of one metric. Not ``REGISTRY.get_sample_value``: that runs every collector,
    and the database collector would connect to engines other tests left behind."""
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == labels:
                return float(sample.value)
    return 0.0


def _limited(route: str) -> float:
    return counter_value(RATE_LIMITED, route=route)


def test_150_requests_in_a_minute_get_429s_after_the_100th(client: Any, problem: Any) -> None:
    before = _limited("/api/v1/markets")
    statuses = [client.get("/api/v1/markets").status_code for _ in range(150)]

    assert statuses[:100] == [200] * 100
    assert statuses[100:] == [429] * 50
    refused = client.get("/api/v1/markets")
    problem(refused, status=429, code="too-many-requests")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-limit"] == "100"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-policy"] == "100;w=60"
    assert _limited("/api/v1/markets") - before == 51


def test_allowed_responses_count_down_the_remaining_budget(make_client: Any, settings: Settings):
    client = make_client(_settings(settings, rate_limit_per_minute=3))

    remaining = [client.get(PUBLIC).headers["ratelimit-remaining"] for _ in range(3)]

    assert remaining == ["2", "1", "0"]
    first = client.get(PUBLIC)
    assert first.status_code == 429
    assert 1 <= int(first.headers["ratelimit-reset"]) <= 60


def test_health_metrics_and_static_files_are_never_limited(make_client: Any, settings: Settings):
    client = make_client(_settings(settings, rate_limit_per_minute=1))
    client.get(PUBLIC)

    for path in ("/health", "/health/ready", "/metrics", "/static/dashboard.css"):
        responses = [client.get(path) for _ in range(5)]
        assert all(r.status_code != 429 for r in responses), path
        assert "ratelimit-limit" not in responses[0].headers
    assert client.get(PUBLIC).status_code == 429


def test_unknown_routes_count_too_so_probing_floods_are_refused(
    make_client: Any, settings: Settings
) -> None:
    client = make_client(_settings(settings, rate_limit_per_minute=2))

    statuses = [client.get(f"/no/such/route/{i}").status_code for i in range(3)]

    assert statuses == [404, 404, 429]


def test_an_api_key_has_its_own_budget_wherever_it_comes_from(
    make_client: Any, settings: Settings
) -> None:
    limited = _settings(settings, rate_limit_per_minute=3)
    first_ip = make_client(limited, peer="198.51.100.1")
    second_ip = make_client(limited, peer="198.51.100.2", app=first_ip.app)
    key = {"X-API-Key": "ew_not_checked_by_the_limiter"}

    assert [first_ip.get(PUBLIC, headers=key).status_code for _ in range(3)] == [200] * 3
    # The key is spent, from any address, in either header form.
    assert second_ip.get(PUBLIC, headers=key).status_code == 429
    bearer = {"Authorization": "Bearer ew_not_checked_by_the_limiter"}
    assert second_ip.get(PUBLIC, headers=bearer).status_code == 429
    # The second address still has its own budget without the key.
    assert second_ip.get(PUBLIC).status_code == 200
    # A made-up key does not escape the first address's spent budget.
    assert first_ip.get(PUBLIC, headers={"X-API-Key": "another"}).status_code == 429


def test_backtests_and_paper_orders_have_a_stricter_budget(make_client: Any, settings: Settings):
    client = make_client(
        _settings(settings, rate_limit_per_minute=100, rate_limit_expensive_per_minute=2)
    )

    posts = [client.post("/api/v1/backtests", json={}).status_code for _ in range(3)]
    orders = [client.post("/api/v1/paper/accounts/1/orders", json={}).status_code for _ in range(3)]

    assert posts[:2] != [429, 429] and posts[2] == 429
    assert 429 not in orders[:2] and orders[2] == 429
    # Reading is on the default budget, which still has room.
    assert client.get("/api/v1/backtests").status_code != 429


def test_login_routes_have_a_stricter_budget(make_client: Any, settings: Settings) -> None:
    client = make_client(_settings(settings, rate_limit_login_per_minute=2))

    statuses = [client.post("/auth/login", data={"email": "a@b.c"}).status_code for _ in range(3)]

    assert 429 not in statuses[:2]
    assert statuses[2] == 429
    assert client.get(PUBLIC).status_code == 200


def test_rate_limiting_can_be_switched_off(make_client: Any, settings: Settings) -> None:
    client = make_client(_settings(settings, rate_limit_enabled=False, rate_limit_per_minute=1))

    assert [client.get(PUBLIC).status_code for _ in range(3)] == [200] * 3


def test_each_app_has_its_own_in_memory_budget(make_client: Any, settings: Settings) -> None:
    limited = _settings(settings, rate_limit_per_minute=1)
    first, second = make_client(limited), make_client(limited)

    assert first.get(PUBLIC).status_code == 200
    assert first.get(PUBLIC).status_code == 429
    assert second.get(PUBLIC).status_code == 200


# Trusted proxies ---------------------------------------------------------------------------------


def test_forwarded_for_is_ignored_from_an_untrusted_peer(make_client: Any, settings: Settings):
    client = make_client(_settings(settings, rate_limit_per_minute=2), peer="203.0.113.9")

    statuses = [
        client.get(PUBLIC, headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code
        for i in range(3)
    ]

    # Forged addresses do not give a client fresh budgets: all three count against the peer.
    assert statuses == [200, 200, 429]


def test_forwarded_for_is_honoured_from_a_trusted_proxy(make_client: Any, settings: Settings):
    trusted = _settings(
        settings, rate_limit_per_minute=2, trusted_proxies=[ip_network("10.0.0.0/8")]
    )
    client = make_client(trusted, peer="10.0.0.5")

    def get(forwarded: str) -> int:
        return int(client.get(PUBLIC, headers={"X-Forwarded-For": forwarded}).status_code)

    assert [get("192.0.2.1"), get("192.0.2.1"), get("192.0.2.1")] == [200, 200, 429]
    # Another client behind the same proxy has its own budget; a forged left-most entry is
    # ignored because the right-most untrusted address is the one the proxy saw.
    assert get("192.0.2.2") == 200
    assert get("192.0.2.1, 192.0.2.2") == 200
    assert get("192.0.2.66, 192.0.2.2") == 429


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", "192.0.2.1", "203.0.113.9"),
        ("10.0.0.5", "192.0.2.1", "192.0.2.1"),
        ("10.0.0.5", "192.0.2.1, 10.0.0.7", "192.0.2.1"),
        ("10.0.0.5", "6.6.6.6, 192.0.2.1, 10.0.0.7", "192.0.2.1"),
        ("10.0.0.5", "10.0.0.8, 10.0.0.7", "10.0.0.8"),
        ("10.0.0.5", "not-an-ip, 10.0.0.7", "10.0.0.7"),
        ("10.0.0.5", "192.0.2.1:4711", "192.0.2.1"),
        ("10.0.0.5", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.0.0.5", "", "10.0.0.5"),
    ],
)
def test_client_ip_takes_the_rightmost_untrusted_address(
    peer: str, forwarded: str, expected: str
) -> None:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "client": (peer, 1), "headers": headers}

    assert client_ip(scope, [ip_network("10.0.0.0/8")]) == expected


def test_client_ip_without_a_peer_is_unknown() -> None:
    assert client_ip({"type": "http", "headers": []}, []) == "unknown"


# The window itself -----------------------------------------------------------------------------


def test_memory_window_frees_capacity_as_requests_age(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    window = MemoryWindow(window=60)
    bucket = [Bucket("k", 2)]

    def hit() -> Decision:
        return asyncio.run(window.hit(bucket))

    assert hit().allowed
    clock[0] += 30
    assert hit().remaining == 0
    refused = hit()
    assert not refused.allowed
    assert refused.reset_seconds == pytest.approx(30)
    clock[0] += 30.001  # the first request is now older than the window
    assert hit().allowed
    assert not hit().allowed


# Redis -----------------------------------------------------------------------------------------


@needs_redis
def test_redis_budget_is_shared_by_apps_using_the_same_redis(
    make_client: Any, settings: Settings, redis_prefix: str
) -> None:
    shared = _settings(
        settings, redis_url=REDIS_URL, redis_key_prefix=redis_prefix, rate_limit_per_minute=4
    )
    first, second = make_client(shared), make_client(shared)

    statuses = [c.get(PUBLIC).status_code for c in (first, second, first, second, first, second)]

    assert statuses == [200, 200, 200, 200, 429, 429]
    refused = second.get(PUBLIC)
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_redis_down_fails_open_with_a_warning_and_a_metric(
    make_client: Any, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    down = _settings(settings, redis_url="redis://127.0.0.1:1/0", rate_limit_per_minute=1)
    client = make_client(down)
    before = counter_value(REDIS_ERRORS, component="rate_limit")

    statuses = [client.get(PUBLIC).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert counter_value(REDIS_ERRORS, component="rate_limit") - before >= 3
    logged = capsys.readouterr()
    assert "redis unavailable; failing open" in logged.out + logged.err


@needs_redis
def test_the_redis_window_works_after_redis_forgets_its_script(redis_prefix: str) -> None:
    """A restarted Redis, or ``SCRIPT FLUSH``, forgets the script the window calls by hash."""
    assert REDIS_URL
    admin = Redis.from_url(REDIS_URL)
    admin.script_flush()
    admin.close()
    window = RedisWindow(RedisClient(REDIS_URL))
    bucket = [Bucket(f"{redis_prefix}:flushed", 2)]

    async def three_hits() -> list[bool]:
        return [(await window.hit(bucket)).allowed for _ in range(3)]

    assert asyncio.run(three_hits()) == [True, True, False]
