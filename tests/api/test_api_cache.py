"""The response cache: hits and misses, invalidation by data versions (also by a real ingest),
ETag and 304, normalised keys, what is never cached, and both the memory and the Redis store."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine

from edgewatch import data_versions
from edgewatch.accounts.key_cache import KEYS
from edgewatch.api import cache
from edgewatch.api.app import create_app
from edgewatch.api.cache import LIVE_TTL_SECONDS, MemoryStore, cache_policy_of, cached
from edgewatch.config import Settings
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.runner import run_pipeline
from edgewatch.observability.metrics import CACHE_REQUESTS, HTTP_REQUESTS

REDIS_URL = os.environ.get("EDGEWATCH_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="EDGEWATCH_TEST_REDIS_URL is not set")


def _cache_count(name: str, result: str) -> float:
    for family in CACHE_REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == {
                "cache": name,
                "result": result,
            }:
                return float(sample.value)
    return 0.0


def test_a_second_identical_request_is_a_hit_with_the_same_body(client: Any, seed: Any) -> None:
    seed.market("Will it rain?", quote=(0.4, 0.5, 0.45))
    hits, misses = _cache_count("markets", "hit"), _cache_count("markets", "miss")

    first = client.get("/api/v1/markets")
    second = client.get("/api/v1/markets")

    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert second.json() == first.json()
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == "application/json"
    assert first.headers["cache-control"] == "private, max-age=300"
    assert _cache_count("markets", "hit") - hits == 1
    assert _cache_count("markets", "miss") - misses == 1


def test_a_hit_serves_the_stored_body_until_the_data_version_changes(
    client: Any, seed: Any, settings: Settings
) -> None:
    seed.market("First market")
    assert len(client.get("/api/v1/markets").json()["items"]) == 1
    # Written behind the cache's back (no version bump): the cached page is still served.
    seed.market("Second market")
    stale = client.get("/api/v1/markets")
    assert stale.headers["x-cache"] == "hit"
    assert len(stale.json()["items"]) == 1

    data_versions.bump(settings, ["markets"])

    fresh = client.get("/api/v1/markets")
    assert fresh.headers["x-cache"] == "miss"
    assert [m["title"] for m in fresh.json()["items"]] == ["First market", "Second market"]


def test_bumping_another_kind_keeps_the_entry(client: Any, seed: Any, settings: Settings) -> None:
    market = seed.market("Rain", quote=(0.4, 0.5, 0.45))
    path = f"/api/v1/markets/{market.id}/ticks"
    client.get(path)

    data_versions.bump(settings, ["signals", "markets"])

    assert client.get(path).headers["x-cache"] == "hit"


def test_an_ingest_that_writes_ticks_invalidates_cached_ticks_and_markets(
    client: Any, settings: Settings, engine: Engine
) -> None:
    ingest = available_pipelines(settings)["ingest-sim"]
    assert client.get("/api/v1/markets").json()["items"] == []
    assert client.get("/api/v1/markets").headers["x-cache"] == "hit"

    run = run_pipeline(ingest.name, ingest.step, settings=settings, engine=engine)
    assert run.status == "succeeded" and run.rows_stored > 0

    after = client.get("/api/v1/markets?limit=500")
    assert after.headers["x-cache"] == "miss"
    markets = after.json()["items"]
    assert markets
    # A market with ticks: at some times of day the first ones listed have resolved already.
    quoted = next(market for market in markets if market["last_tick_at"] is not None)
    ticks_path = f"/api/v1/markets/{quoted['id']}/ticks?order=desc&limit=1"
    before_second = client.get(ticks_path).json()["items"]
    assert client.get(ticks_path).headers["x-cache"] == "hit"

    second = run_pipeline(ingest.name, ingest.step, settings=settings, engine=engine)
    assert second.status == "succeeded"

    refreshed = client.get(ticks_path)
    assert refreshed.headers["x-cache"] == "miss"
    if second.rows_stored:
        assert refreshed.json()["items"][0]["tick_ts"] >= before_second[0]["tick_ts"]


def test_if_none_match_with_the_current_etag_gets_a_304(client: Any, seed: Any) -> None:
    seed.market("Rain")
    etag = client.get("/api/v1/markets").headers["etag"]

    not_modified = client.get("/api/v1/markets", headers={"If-None-Match": etag})
    also = client.get("/api/v1/markets", headers={"If-None-Match": f'"other", W/{etag}'})
    changed = client.get("/api/v1/markets", headers={"If-None-Match": '"something-else"'})

    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == "private, max-age=300"
    assert also.status_code == 304
    assert changed.status_code == 200
    assert changed.headers["etag"] == etag


def test_the_etag_changes_when_the_data_does(client: Any, seed: Any, settings: Settings) -> None:
    seed.market("Rain")
    etag = client.get("/api/v1/markets").headers["etag"]
    seed.market("Snow")
    data_versions.bump(settings, ["markets"])

    response = client.get("/api/v1/markets", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.headers["etag"] != etag


def test_query_parameter_order_does_not_split_the_cache(client: Any, seed: Any) -> None:
    seed.market("Rain")

    client.get("/api/v1/markets?limit=5&status=open")
    swapped = client.get("/api/v1/markets?status=open&limit=5")
    other = client.get("/api/v1/markets?status=open&limit=6")

    assert swapped.headers["x-cache"] == "hit"
    assert other.headers["x-cache"] == "miss"


def test_callers_with_other_scopes_do_not_share_entries(client: Any, client_as: Any, seed: Any):
    seed.market("Rain")
    client.get("/api/v1/markets")

    viewer = client_as("viewer")

    assert viewer.get("/api/v1/markets").headers["x-cache"] == "miss"
    assert viewer.get("/api/v1/markets").headers["x-cache"] == "hit"


def test_a_caller_the_route_refuses_never_gets_a_cached_body(
    client: Any, client_as: Any, seed: Any
) -> None:
    seed.market("Rain")
    client.get("/api/v1/markets")

    anonymous = client_as(None).get("/api/v1/markets")

    assert anonymous.status_code == 401
    assert "x-cache" not in anonymous.headers


def test_errors_are_not_cached(client: Any) -> None:
    first = client.get("/api/v1/markets/987654")
    second = client.get("/api/v1/markets/987654")

    assert first.status_code == second.status_code == 404
    assert "x-cache" not in second.headers
    assert "etag" not in second.headers


def test_the_link_list_is_cached_until_a_review_changes_it(
    client: Any, seed: Any, settings: Settings
) -> None:
    a = seed.market("Will it rain?", venue="kalshi")
    b = seed.market("Rain tomorrow?", venue="polymarket")
    link = seed.link(a, b, status="proposed")

    first = client.get("/api/v1/links")
    second = client.get("/api/v1/links")
    confirmed = client.post(f"/api/v1/links/{link.id}/confirm")
    after = client.get("/api/v1/links")

    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert confirmed.status_code == 200, confirmed.text
    assert after.headers["x-cache"] == "miss"
    assert [item["status"] for item in after.json()["items"]] == ["confirmed"]


def test_pipeline_runs_are_cached_until_a_run_is_queued_starts_or_ends(
    client: Any, settings: Settings, engine: Engine
) -> None:
    first = client.get("/api/v1/pipelines")
    second = client.get("/api/v1/pipelines")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    # Queue depths are live: the entry lives seconds, not minutes.
    assert second.headers["cache-control"] == "private, max-age=10"

    # Triggered without a broker: queued, then run in the background (the test client waits).
    triggered = client.post("/api/v1/pipelines/match-markets/runs")
    assert triggered.status_code == 202, triggered.text
    after_trigger = client.get("/api/v1/pipelines")
    assert after_trigger.headers["x-cache"] == "miss"
    assert [(run["pipeline"], run["status"]) for run in after_trigger.json()["items"]] == [
        ("match-markets", "succeeded")
    ]
    assert client.get("/api/v1/pipelines").headers["x-cache"] == "hit"

    match = available_pipelines(settings)["match-markets"]
    run_pipeline(match.name, match.step, settings=settings, engine=engine)

    after_run = client.get("/api/v1/pipelines")
    assert after_run.headers["x-cache"] == "miss"
    assert len(after_run.json()["items"]) == 2


def test_live_views_may_cache_for_seconds_and_data_views_for_minutes() -> None:
    assert cache_policy_of(cached("live", reads=("pipelines",), ttl_seconds=LIVE_TTL_SECONDS))
    for ttl in (60, 3600):
        with pytest.raises(ValueError, match="5 to 15 minutes"):
            cached("wrong", reads=("markets",), ttl_seconds=ttl)


def test_routes_without_a_cache_policy_are_no_store(client: Any) -> None:
    response = client.get("/api/v1/quarantine")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "x-cache" not in response.headers


def test_the_cache_can_be_switched_off(
    client_class: type[Any], settings: Settings, seed: Any
) -> None:
    seed.market("Rain")
    off = settings.model_copy(update={"cache_enabled": False})
    with client_class(create_app(off)) as client:
        client.get("/api/v1/markets")
        response = client.get("/api/v1/markets")

    assert response.status_code == 200
    assert "x-cache" not in response.headers
    assert response.headers["cache-control"] == "no-store"


class _Entries:
    """A store's entries as plain gets and sets under the current versions of the ticks."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def get(self, key: str) -> bytes | None:
        return (await self.store.lookup(key, ("ticks",)))[1]

    async def set(self, key: str, body: bytes, ttl_seconds: int = 300) -> None:
        versions, _ = await self.store.lookup(key, ("ticks",))
        await self.store.set(key, versions, body, ttl_seconds)


def test_memory_store_evicts_least_recently_used_entries_to_stay_bounded(
    settings: Settings,
) -> None:
    store = MemoryStore(settings.model_copy(update={"cache_memory_mb": 1}))
    entries = _Entries(store)
    chunk = b"x" * (100 * 1024)  # ten of these fill the megabyte

    async def scenario() -> None:
        for index in range(10):
            await entries.set(f"k{index}", chunk)
        assert await entries.get("k0") == chunk  # k0 is now the most recently used
        await entries.set("k10", chunk)
        await entries.set("k11", chunk)
        assert await entries.get("k0") == chunk
        assert await entries.get("k1") is None
        assert await entries.get("k2") is None
        assert store.used_bytes <= store.max_bytes
        await entries.set("huge", b"x" * (store.max_bytes // 4))
        assert await entries.get("huge") is None  # larger than an entry may be

    asyncio.run(scenario())


def test_memory_store_entries_expire_with_their_ttl(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgewatch.api import cache

    clock = [100.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    store = MemoryStore(settings)
    entries = _Entries(store)

    async def scenario() -> None:
        await entries.set("k", b"body", 300)
        clock[0] += 299
        assert await entries.get("k") == b"body"
        clock[0] += 2
        assert await entries.get("k") is None
        assert store.used_bytes == 0

    asyncio.run(scenario())


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    assert REDIS_URL
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield settings.model_copy(update={"redis_url": REDIS_URL, "redis_key_prefix": prefix})
    redis = Redis.from_url(REDIS_URL)
    keys = list(redis.scan_iter(f"{prefix}:*"))
    if keys:
        redis.delete(*keys)
    redis.close()


@needs_redis
def test_redis_store_hits_invalidates_and_is_shared_between_apps(
    client_class: type[Any], redis_settings: Settings, seed: Any
) -> None:
    seed.market("Rain")
    with (
        client_class(create_app(redis_settings)) as first,
        client_class(create_app(redis_settings)) as second,
    ):
        assert first.get("/api/v1/markets").headers["x-cache"] == "miss"
        # The other app (another process in production) finds the entry in Redis.
        assert second.get("/api/v1/markets").headers["x-cache"] == "hit"
        redis = Redis.from_url(redis_settings.redis_url or "")
        stored = list(redis.scan_iter(f"{redis_settings.redis_key_prefix}:response:*"))
        assert len(stored) == 1
        assert 0 < int(redis.ttl(stored[0])) <= 300
        redis.close()

        seed.market("Snow")
        data_versions.bump(redis_settings, ["ticks"])

        refreshed = second.get("/api/v1/markets")
        assert refreshed.headers["x-cache"] == "miss"
        assert len(refreshed.json()["items"]) == 2
        assert first.get("/api/v1/markets").headers["x-cache"] == "hit"


@needs_redis
def test_pipelines_bump_versions_in_redis(redis_settings: Settings, engine: Engine) -> None:
    ingest = available_pipelines(redis_settings)["ingest-sim"]
    redis = Redis.from_url(redis_settings.redis_url or "")
    prefix = redis_settings.redis_key_prefix

    run_pipeline(ingest.name, ingest.step, settings=redis_settings, engine=engine)

    versions = redis.mget([f"{prefix}:version:{kind}" for kind in ("markets", "ticks", "signals")])
    redis.close()
    assert versions[0] == b"1" and versions[1] == b"1"
    assert versions[2] is None  # ingest writes no signals


def test_redis_down_serves_uncached_responses(
    client_class: type[Any], settings: Settings, seed: Any
) -> None:
    seed.market("Rain")
    down = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "rate_limit_enabled": False}
    )
    with client_class(create_app(down)) as client:
        responses = [client.get("/api/v1/markets") for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 200]
    assert all("x-cache" not in r.headers for r in responses)


def test_reviewing_a_link_refreshes_the_cached_market_detail(client: Any, seed: Any) -> None:
    a, b = (
        seed.market("Rain in Paris", venue="kalshi"),
        seed.market("Paris rain", venue="polymarket"),
    )
    link = seed.link(a, b, status="proposed")
    path = f"/api/v1/markets/{a.id}"
    client.get(path)
    assert client.get(path).headers["x-cache"] == "hit"

    assert client.post(f"/api/v1/links/{link.id}/confirm").status_code == 200

    refreshed = client.get(path)
    assert refreshed.headers["x-cache"] == "miss"
    assert [item["status"] for item in refreshed.json()["links"]] == ["confirmed"]


@needs_redis
@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_an_entry_counts_only_under_the_versions_it_was_computed_with(
    redis_settings: Settings, kind: str
) -> None:
    from edgewatch import data_versions
    from edgewatch.api.cache import RedisStore, Store
    from edgewatch.api.redis_client import RedisClient

    settings = (
        redis_settings if kind == "redis" else redis_settings.model_copy(update={"redis_url": None})
    )
    reads = ("ticks", "markets")
    key = f"{settings.redis_key_prefix}:entry"  # the test Redis outlives runs: this run's own key

    async def scenario() -> None:
        redis = RedisClient(REDIS_URL)
        store: Store = RedisStore(redis, settings) if kind == "redis" else MemoryStore(settings)
        versions, body = await store.lookup(key, reads)
        assert body is None
        await store.set(key, versions, b"computed before the bump", 300)
        assert await store.lookup(key, reads) == (versions, b"computed before the bump")
        data_versions.bump(settings, ("ticks",))
        newer, body = await store.lookup(key, reads)
        assert newer != versions
        assert body is None
        await redis.aclose()

    asyncio.run(scenario())


def _request_count(route: str) -> float:
    for family in HTTP_REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == {
                "method": "GET",
                "route": route,
                "status": "200",
            }:
                return float(sample.value)
    return 0.0


def test_a_remembered_key_is_answered_before_routing_exactly_as_after_it(
    client: Any, seed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed.market("Rain", quote=(0.4, 0.5, 0.45))
    lookups: list[str] = []
    dependency = cache._Lookup.__call__

    async def counted(self: Any, request: Request) -> None:  # FastAPI reads the annotation
        lookups.append(request.url.path)
        await dependency(self, request)

    monkeypatch.setattr(cache._Lookup, "__call__", counted)
    assert client.get("/api/v1/markets").headers["x-cache"] == "miss"  # the key is now remembered
    served_before = _request_count("/api/v1/markets")
    lookups.clear()

    early = client.get("/api/v1/markets")
    assert lookups == [], "a hit for a remembered key must not reach the route's dependencies"
    KEYS.clear()
    late = client.get("/api/v1/markets")  # authenticated from the database: the dependency's hit
    assert lookups == ["/api/v1/markets"]

    assert early.headers["x-cache"] == late.headers["x-cache"] == "hit"
    assert early.content == late.content
    for header in ("etag", "cache-control", "content-type", "content-length", "ratelimit-limit"):
        assert early.headers[header] == late.headers[header]
    assert _request_count("/api/v1/markets") - served_before == 2  # labelled by route template


def test_a_revoked_key_gets_no_cached_body(client_as: Any, api_app: Any, seed: Any) -> None:
    seed.market("Rain")
    owner = client_as("analyst")
    created = owner.post("/api/v1/me/keys", json={"name": "bot"}).json()
    keyed = TestClient(api_app, headers={"X-API-Key": created["key"]})
    assert [keyed.get("/api/v1/markets").headers["x-cache"] for _ in range(2)] == ["miss", "hit"]

    assert owner.delete(f"/api/v1/me/keys/{created['id']}").status_code == 204
    refused = keyed.get("/api/v1/markets")

    assert refused.status_code == 401
    assert "x-cache" not in refused.headers


def test_a_key_without_the_routes_scope_gets_no_cached_body(
    client: Any, client_as: Any, api_app: Any, seed: Any
) -> None:
    seed.market("Rain")
    created = client_as("analyst").post(
        "/api/v1/me/keys", json={"name": "account only", "scopes": ["account"]}
    )
    assert created.status_code == 201, created.text
    keyed = TestClient(api_app, headers={"X-API-Key": created.json()["key"]})
    assert keyed.get("/api/v1/me").status_code == 200  # known, remembered and valid
    client.get("/api/v1/markets")

    answers = [keyed.get("/api/v1/markets") for _ in range(2)]

    assert [answer.status_code for answer in answers] == [403, 403]
    assert all("x-cache" not in answer.headers for answer in answers)
