"""Rate limiting: a sliding one-minute window per client IP and per API key, before anything else.

Every request except health, metrics and static files counts against

- its client IP (see ``client_address``: ``X-Forwarded-For`` only from trusted proxies), and
- when it carries an API key (``X-API-Key`` or ``Authorization: Bearer``), that key — keyed by a
  hash of the raw header. The key is not checked here: the limiter runs before authentication, so
  floods are refused before they cost a database lookup, and sending made-up keys does not escape
  the IP budget because both budgets apply.

Budgets come from ``ROUTE_LIMITS``: every request uses the default budget
(``EDGEWATCH_RATE_LIMIT_PER_MINUTE``, 100); sign-in routes and expensive writes also have a
stricter budget of their own (login: ``EDGEWATCH_RATE_LIMIT_LOGIN_PER_MINUTE``, expensive:
``EDGEWATCH_RATE_LIMIT_EXPENSIVE_PER_MINUTE``). A request is allowed only if every budget it
uses has room, and then it is counted in all of them.

The window is a sliding log, so "100 a minute" is exact: the 101st request within any 60 s is
refused, and capacity returns as each counted request turns 60 s old. With ``EDGEWATCH_REDIS_URL``
the log lives in Redis (one atomic Lua script per request, timed by Redis's own clock) and every
API process shares it; otherwise it is kept in memory per app. If Redis fails, requests go through
unlimited (see ``redis_client.FailOpen``).

Responses carry ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds) and
``RateLimit-Policy`` for the tightest budget; a refusal is a 429 problem document with
``Retry-After`` and counts in ``edgewatch_rate_limited_total{route}``.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from fastapi.routing import iter_route_contexts
from redis.exceptions import RedisError, ResponseError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edgewatch.api.client_address import client_ip
from edgewatch.api.problems import problem_response
from edgewatch.api.redis_client import FailOpen, RedisClient, redis_key
from edgewatch.api.routing import first_full_match
from edgewatch.config import Settings
from edgewatch.observability.metrics import RATE_LIMITED

WINDOW_SECONDS = 60
#: Paths never limited: probes and scrapers must always get through, static files are cheap.
EXEMPT_PREFIXES = ("/health", "/metrics", "/static/")


@dataclass(frozen=True, slots=True)
class RouteLimit:
    """A stricter budget for the requests whose method and path match."""

    name: str
    methods: frozenset[str]
    path: re.Pattern[str]
    #: Which per-minute setting gives the budget: ``login`` or ``expensive``.
    tier: str


#: Routes with a budget of their own, on top of the default one.
ROUTE_LIMITS = (
    RouteLimit("login", frozenset({"GET", "POST"}), re.compile(r"/auth(/.*)?"), "login"),
    RouteLimit("backtests", frozenset({"POST"}), re.compile(r"/api/v1/backtests"), "expensive"),
    RouteLimit(
        "paper-orders",
        frozenset({"POST"}),
        re.compile(r"/api/v1/paper(/[^/]+)*/orders"),
        "expensive",
    ),
)


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    #: The tightest bucket: its limit, what is left after this request, seconds until it refills.
    limit: int
    remaining: int
    reset_seconds: float


class Window(Protocol):
    async def hit(self, buckets: list[Bucket]) -> Decision:
        """Count the request in every bucket if all have room; say how it went."""


def _decide(states: Iterable[tuple[Bucket, int, float]]) -> Decision:
    """Combine ``(bucket, used before this request, seconds until its oldest entry expires)``."""
    rows = list(states)
    allowed = all(used < bucket.limit for bucket, used, _ in rows)
    spent = 1 if allowed else 0
    bucket, used, reset = min(rows, key=lambda row: (row[0].limit - row[1] - spent, -row[2]))
    return Decision(
        allowed=allowed,
        limit=bucket.limit,
        remaining=max(bucket.limit - used - spent, 0),
        reset_seconds=reset,
    )


class MemoryWindow:
    """The sliding log in this process: one deque of monotonic times per bucket."""

    PRUNE_EVERY = 1_000

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._logs: dict[str, deque[float]] = {}
        self._calls = 0

    async def hit(self, buckets: list[Bucket]) -> Decision:
        now = time.monotonic()
        self._calls += 1
        if self._calls % self.PRUNE_EVERY == 0:
            self._prune(now)
        states = []
        for bucket in buckets:
            log = self._logs.setdefault(bucket.key, deque())
            while log and log[0] <= now - self.window:
                log.popleft()
            reset = log[0] + self.window - now if log else self.window
            states.append((bucket, len(log), reset))
        decision = _decide(states)
        if decision.allowed:
            for bucket in buckets:
                self._logs[bucket.key].append(now)
        return decision

    def _prune(self, now: float) -> None:
        """Forget buckets idle for a whole window, so memory follows active clients only."""
        idle = [key for key, log in self._logs.items() if not log or log[-1] <= now - self.window]
        for key in idle:
            del self._logs[key]


# KEYS: the buckets' sorted sets. ARGV: window (ms), a unique member, then each bucket's limit.
# Returns {allowed, used_1, reset_ms_1, used_2, reset_ms_2, ...}.
_SLIDING_WINDOW_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = tonumber(ARGV[1])
local allowed = 1
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  local reset = window
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if oldest[2] then reset = tonumber(oldest[2]) + window - now end
  if used >= tonumber(ARGV[i + 2]) then allowed = 0 end
  out[#out + 1] = used
  out[#out + 1] = reset
end
if allowed == 1 then
  for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('PEXPIRE', key, window)
  end
end
table.insert(out, 1, allowed)
return out
"""
_SLIDING_WINDOW_SHA = hashlib.sha1(_SLIDING_WINDOW_LUA.encode(), usedforsecurity=False).hexdigest()


class RedisWindow:
    """The sliding log in Redis, shared by every process that uses the same Redis and prefix."""

    def __init__(self, redis: RedisClient, *, window: float = WINDOW_SECONDS) -> None:
        self.redis = redis
        self.window_ms = int(window * 1000)

    async def hit(self, buckets: list[Bucket]) -> Decision:
        member = uuid.uuid4().hex
        keys = [bucket.key for bucket in buckets]
        args: list[str | int] = [len(keys), *keys, self.window_ms, member]
        args += [bucket.limit for bucket in buckets]
        try:
            (raw,) = await self.redis.execute(("EVALSHA", _SLIDING_WINDOW_SHA, *args))
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            # Redis has not seen the script since it started: send it whole, once.
            (raw,) = await self.redis.execute(("EVAL", _SLIDING_WINDOW_LUA, *args))
        values = [int(value) for value in raw]
        states = [
            (bucket, values[1 + 2 * i], values[2 + 2 * i] / 1000)
            for i, bucket in enumerate(buckets)
        ]
        return _decide(states)


def api_credential(scope: Scope) -> str | None:
    """The raw API key the request carries (``X-API-Key`` or a bearer token), unvalidated."""
    for name, value in scope.get("headers", ()):
        text = bytes(value).decode("latin-1").strip()
        if name == b"x-api-key" and text:
            return text
        if name == b"authorization":
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def route_template(scope: Scope) -> str:
    """The route template the request would be routed to, for the metric label."""
    route = first_full_match(iter_route_contexts(getattr(scope.get("app"), "routes", [])), scope)
    return route.path if route is not None and isinstance(route.path, str) else "unmatched"


class RateLimitMiddleware:
    """Refuses requests over budget with a 429 and labels the rest with their budget."""

    def __init__(self, app: ASGIApp, *, settings: Settings, redis: RedisClient | None) -> None:
        self.app = app
        self.settings = settings
        self.window: Window = RedisWindow(redis) if redis is not None else MemoryWindow()
        self.failures = FailOpen("rate_limit")
        self._tiers = {
            "login": settings.rate_limit_login_per_minute,
            "expensive": settings.rate_limit_expensive_per_minute,
        }

    def buckets(self, scope: Scope, ip: str) -> list[Bucket]:
        method, path = scope["method"], scope["path"]
        budgets = [("default", self.settings.rate_limit_per_minute)]
        budgets += [
            (limit.name, self._tiers[limit.tier])
            for limit in ROUTE_LIMITS
            if method in limit.methods and limit.path.fullmatch(path)
        ]
        clients = [f"ip:{ip}"]
        credential = api_credential(scope)
        if credential is not None:
            clients.append("key:" + hashlib.sha256(credential.encode()).hexdigest()[:32])
        return [
            Bucket(redis_key(self.settings, "ratelimit", name, client), limit)
            for name, limit in budgets
            for client in clients
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope, self.settings.trusted_proxies)
        scope.setdefault("state", {})["client_ip"] = ip
        if not self.settings.rate_limit_enabled or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        try:
            decision = await self.window.hit(self.buckets(scope, ip))
        except (RedisError, OSError) as exc:
            self.failures.failed(exc, consequence="requests are not rate limited")
            await self.app(scope, receive, send)
            return
        headers = {
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": str(decision.remaining),
            "RateLimit-Reset": str(max(math.ceil(decision.reset_seconds), 1)),
            "RateLimit-Policy": f"{decision.limit};w={WINDOW_SECONDS}",
        }
        if not decision.allowed:
            RATE_LIMITED.labels(route=route_template(scope)).inc()
            retry = headers["RateLimit-Reset"]
            response = problem_response(
                scope,
                status=429,
                code="too-many-requests",
                detail=(
                    f"Rate limit of {decision.limit} requests per minute reached; "
                    f"retry in {retry} s."
                ),
                headers=headers | {"Retry-After": retry},
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
