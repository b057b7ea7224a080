"""The response cache for read routes over markets, ticks, signals and pipeline runs, with ETags.

A route opts in with ``dependencies=[cached(...)]``: its name (the metric label), the data kinds it
reads and a TTL. On each request the ``cached`` dependency — which runs after the app-wide
authorisation, so a cached body is never served to a caller the route would refuse — builds the key

    <prefix>:response:<app version>:<name>:sha256(path, sorted query, caller's scopes)

and reads, in one round trip, the current ``data_versions`` of the kinds the route reads and the
entry under that key. An entry is stored with the versions it was computed under and only counts
while they are current: a pipeline that writes ticks bumps the ticks version and every cached
response that read ticks stops matching, in every process. A hit answers from the cache without
touching the database; a miss runs the route and ``ResponseCacheMiddleware`` stores its 200 body.

The fast path: when the caller's API key was authenticated moments ago and its scopes allow the
route (``access.remembered_and_allowed``: the same table and key cache as ``authorize``), the
middleware does the lookup itself, before FastAPI routes the request and resolves its
dependencies, and answers a hit there. Resolving them cost more than the rest of a hit.

Either way the middleware adds ``ETag`` (a hash of the body), ``Cache-Control: private,
max-age=<ttl>`` and ``X-Cache: hit|miss``, and answers ``If-None-Match`` with a 304. Keys carry the
caller's scope set, never a credential or user id: every caller with the same scopes sees the same
data on these routes.

Storage: Redis (``SET … EX ttl``, the value ``<versions>\n<body>``; the versions and the entry are
read in one pipeline) when ``EDGEWATCH_REDIS_URL`` is set, else an LRU in memory bounded by
``EDGEWATCH_CACHE_MEMORY_MB``. Redis failures are misses (``redis_client.FailOpen``).
Lookups count in ``edgewatch_cache_requests_total{cache,result}``.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.routing import RouteContext, iter_route_contexts
from redis.exceptions import RedisError
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edgewatch.accounts.access import remembered_and_allowed
from edgewatch.api.redis_client import FailOpen, RedisClient, redis_key
from edgewatch.api.routing import first_full_match
from edgewatch.config import Settings
from edgewatch.data_versions import DataKind, read_file_versions, version_key, versions_dir
from edgewatch.observability.metrics import CACHE_REQUESTS

STATE_KEY = "response_cache"
#: The TTL of a route that shows live state (``/api/v1/pipelines``: queue depths).
LIVE_TTL_SECONDS = 10
#: One entry may use at most this share of the in-memory cache.
MAX_ENTRY_SHARE = 8


@dataclass(frozen=True, slots=True)
class CachePolicy:
    name: str
    reads: tuple[DataKind, ...]
    ttl_seconds: int


@dataclass(slots=True)
class CacheState:
    """What the dependency decided for one request, read back by the middleware."""

    policy: CachePolicy
    key: str
    #: The data versions current at lookup: a miss's body is stored as computed under them.
    versions: str
    #: The cached body (a hit), or None (a miss: the route runs and its body is stored).
    body: bytes | None


class CacheHit(Exception):
    """Raised by the dependency to answer from the cache instead of running the route."""

    def __init__(self, body: bytes) -> None:
        super().__init__("response served from cache")
        self.body = body


class Store(Protocol):
    async def lookup(self, key: str, kinds: tuple[DataKind, ...]) -> tuple[str, bytes | None]:
        """The current versions of ``kinds`` (joined) and the body stored under them, if any."""
        ...

    async def set(self, key: str, versions: str, body: bytes, ttl_seconds: int) -> None: ...


class MemoryStore:
    """An LRU of response bodies bounded in bytes; versions come from the data-version files."""

    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.cache_memory_mb * 1024 * 1024
        self.used_bytes = 0
        self._entries: OrderedDict[str, tuple[float, str, bytes]] = OrderedDict()
        self._versions_dir = versions_dir(settings)

    async def lookup(self, key: str, kinds: tuple[DataKind, ...]) -> tuple[str, bytes | None]:
        versions = ".".join(read_file_versions(self._versions_dir, kinds))
        entry = self._entries.get(key)
        if entry is None:
            return versions, None
        expires, stored_versions, body = entry
        if expires <= time.monotonic():
            self._drop(key)
            return versions, None
        if stored_versions != versions:
            return versions, None
        self._entries.move_to_end(key)
        return versions, body

    async def set(self, key: str, versions: str, body: bytes, ttl_seconds: int) -> None:
        if len(body) > self.max_bytes // MAX_ENTRY_SHARE:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (time.monotonic() + ttl_seconds, versions, body)
        self.used_bytes += len(body)
        while self.used_bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        _, _, body = self._entries.pop(key)
        self.used_bytes -= len(body)


class RedisStore:
    def __init__(self, redis: RedisClient, settings: Settings) -> None:
        self.redis = redis
        self.prefix = settings.redis_key_prefix

    async def lookup(self, key: str, kinds: tuple[DataKind, ...]) -> tuple[str, bytes | None]:
        current, stored = await self.redis.execute(
            ("MGET", *(version_key(self.prefix, kind) for kind in kinds)), ("GET", key)
        )
        versions = ".".join(
            value.decode() if isinstance(value, bytes) else "0" for value in current
        )
        tag = versions.encode() + b"\n"
        if isinstance(stored, bytes) and stored.startswith(tag):
            return versions, stored[len(tag) :]
        return versions, None

    async def set(self, key: str, versions: str, body: bytes, ttl_seconds: int) -> None:
        await self.redis.execute(("SET", key, versions.encode() + b"\n" + body, "EX", ttl_seconds))


class ResponseCache:
    """One per app: the store, and the key and failure rules shared by dependency and middleware."""

    def __init__(self, settings: Settings, redis: RedisClient | None) -> None:
        self.settings = settings
        self.store: Store = RedisStore(redis, settings) if redis else MemoryStore(settings)
        self.failures = FailOpen("cache")
        self.app_version = _app_version()
        #: The app's routes in the router's order, and the policies of the cached ones (by id).
        self._routes: list[RouteContext] | None = None
        self._policies: dict[int, CachePolicy] = {}

    def key_for(self, request: Request, policy: CachePolicy, scopes: frozenset[str]) -> str:
        query = urlencode(sorted(parse_qsl(request.url.query, keep_blank_values=True)))
        material = "\n".join((request.url.path, query, ",".join(sorted(scopes))))
        digest = hashlib.sha256(material.encode()).hexdigest()
        return redis_key(self.settings, "response", self.app_version, policy.name, digest)

    async def check(self, request: Request, policy: CachePolicy, key: str) -> CacheState | None:
        """Look ``key`` up and record the outcome in the request's state for the middleware.

        None when the store cannot be read: the route runs and nothing is stored.
        """
        try:
            versions, body = await self.store.lookup(key, policy.reads)
        except (RedisError, OSError) as exc:
            self.failures.failed(exc, consequence="responses are not cached")
            state = None
        else:
            CACHE_REQUESTS.labels(cache=policy.name, result="miss" if body is None else "hit").inc()
            state = CacheState(policy=policy, key=key, versions=versions, body=body)
        request.scope.setdefault("state", {})[STATE_KEY] = state
        return state

    def route_for(self, scope: Scope) -> tuple[RouteContext, CachePolicy] | None:
        """The cached route this request goes to, found as the router finds it (the first full
        match, in order), or None when it goes to any other route."""
        if self._routes is None:
            self._routes = list(iter_route_contexts(scope["app"].routes))
            for route in self._routes:
                if (policy := route_cache_policy(route)) is not None:
                    self._policies[id(route)] = policy
        matched = first_full_match(self._routes, scope)
        policy = self._policies.get(id(matched)) if matched is not None else None
        return None if matched is None or policy is None else (matched, policy)

    async def set(self, state: CacheState, body: bytes) -> None:
        try:
            await self.store.set(state.key, state.versions, body, state.policy.ttl_seconds)
        except (RedisError, OSError) as exc:
            self.failures.failed(exc, consequence="responses are not cached")


def _app_version() -> str:
    try:
        return version("edgewatch")
    except PackageNotFoundError:
        return "0"


def cached(name: str, *, reads: tuple[DataKind, ...], ttl_seconds: int) -> Any:
    """A route dependency that serves the route from the cache; see the module docstring.

    Views of stored data keep entries 5 to 15 minutes (writes invalidate them sooner); a view of
    live state, such as queue depths, ``LIVE_TTL_SECONDS``.
    """
    if ttl_seconds != LIVE_TTL_SECONDS and not 300 <= ttl_seconds <= 900:
        raise ValueError(f"response cache TTLs are 5 to 15 minutes, or {LIVE_TTL_SECONDS} s")
    return Depends(_Lookup(CachePolicy(name=name, reads=reads, ttl_seconds=ttl_seconds)))


class _Lookup:
    """The dependency ``cached`` returns; a class so the OpenAPI builder can find the policy."""

    def __init__(self, policy: CachePolicy) -> None:
        self.policy = policy

    async def __call__(self, request: Request) -> None:
        cache: ResponseCache | None = getattr(request.app.state, STATE_KEY, None)
        if cache is None or request.method not in ("GET", "HEAD"):
            return
        if STATE_KEY in request.scope.get("state", {}):
            return  # ResponseCacheMiddleware looked it up already: a miss, or Redis failed
        principal = getattr(request.state, "principal", None)
        scopes: frozenset[str] = getattr(principal, "scopes", frozenset())
        state = await cache.check(request, self.policy, cache.key_for(request, self.policy, scopes))
        if state is not None and state.body is not None:
            raise CacheHit(state.body)


def cache_policy_of(depends: object) -> CachePolicy | None:
    """The policy of a ``cached(...)`` dependency, or None for any other dependency."""
    lookup = getattr(depends, "dependency", None)
    return lookup.policy if isinstance(lookup, _Lookup) else None


def route_cache_policy(route: object) -> CachePolicy | None:
    """The policy of a route that opted in with ``cached(...)``, or None."""
    for depends in getattr(route, "dependencies", None) or ():
        policy = cache_policy_of(depends)
        if policy is not None:
            return policy
    return None


async def _serve_hit(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CacheHit)
    return Response(exc.body, media_type="application/json")


def _hit_start(body: bytes) -> Message:
    """The response start ``_serve_hit``'s response would send."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    return {"type": "http.response.start", "status": 200, "headers": headers}


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


class ResponseCacheMiddleware:
    """Answers hits of callers it can authorise without the database (see the module docstring),
    stores misses, and gives cached routes their ETag, Cache-Control and 304s."""

    def __init__(self, app: ASGIApp, *, cache: ResponseCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD") and await self._answered_from_cache(scope, send):
            return
        start: Message | None = None
        body = bytearray()

        async def send_cached(message: Message) -> None:
            nonlocal start
            state: CacheState | None = scope.get("state", {}).get(STATE_KEY)
            if message["type"] == "http.response.start":
                if state is None or message["status"] != 200:
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            assert state is not None
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish(scope, state, start, bytes(body), send)

        await self.app(scope, receive, send_cached)

    async def _answered_from_cache(self, scope: Scope, send: Send) -> bool:
        """Answer a hit before routing when the caller is known; a miss is left to the route."""
        found = self.cache.route_for(scope)
        if found is None:
            return False
        route, policy = found
        request = Request(scope)
        principal = remembered_and_allowed(request, route.path or "")
        if principal is None:
            return False  # authorize decides, then the route's cached() dependency looks up
        key = self.cache.key_for(request, policy, principal.scopes)
        state = await self.cache.check(request, policy, key)
        if state is None or state.body is None:
            return False
        scope["route"] = route  # the request metrics' route label
        await self._finish(scope, state, _hit_start(state.body), state.body, send)
        return True

    async def _finish(
        self, scope: Scope, state: CacheState, start: Message, body: bytes, send: Send
    ) -> None:
        if state.body is None:
            await self.cache.set(state, body)
        etag = _etag(body)
        headers = MutableHeaders(scope=start)
        headers["ETag"] = etag
        headers["Cache-Control"] = f"private, max-age={state.policy.ttl_seconds}"
        headers["X-Cache"] = "miss" if state.body is None else "hit"
        request_headers = {name: value for name, value in scope.get("headers", ())}
        if_none_match = request_headers.get(b"if-none-match")
        if _matches(if_none_match.decode("latin-1") if if_none_match else None, etag):
            for name in ("content-length", "content-type"):
                del headers[name]
            await send({"type": "http.response.start", "status": 304, "headers": start["headers"]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(start)
        await send({"type": "http.response.body", "body": body})


def install_response_cache(app: FastAPI, settings: Settings, redis: RedisClient | None) -> None:
    """Create the app's cache (unless ``EDGEWATCH_CACHE_ENABLED=false``) and its middleware."""
    if not settings.cache_enabled:
        return
    cache = ResponseCache(settings, redis)
    setattr(app.state, STATE_KEY, cache)
    app.add_exception_handler(CacheHit, _serve_hit)
    app.add_middleware(ResponseCacheMiddleware, cache=cache)
