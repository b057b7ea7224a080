"""The API's Redis connection, and how its failures are reported.

The rate limiter and the response cache share one asyncio client per app (created by
``create_app``, closed by the lifespan). Both fail open: a Redis outage must slow nothing down and
take nothing offline, so timeouts are short, each failure counts in
``edgewatch_redis_errors_total{component}`` and is logged as a warning at most once a minute per
component (an outage would otherwise write one line per request).
"""

from __future__ import annotations

import time

from redis.asyncio import BlockingConnectionPool, Redis

from edgewatch.config import Settings
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import REDIS_ERRORS

#: Seconds to connect or answer before a command counts as failed.
REDIS_TIMEOUT_SECONDS = 0.5
#: Connections per API process; commands take well under a millisecond, so 64 serve thousands/s.
REDIS_MAX_CONNECTIONS = 64
WARN_EVERY_SECONDS = 60.0

log = get_logger(__name__)


def create_async_redis(settings: Settings) -> Redis | None:
    """A lazily connecting client for ``EDGEWATCH_REDIS_URL``, or None when it is unset."""
    if not settings.redis_url:
        return None
    # A blocking pool: under a burst, a request waits (briefly) for a connection instead of
    # failing open with "too many connections" and skipping its rate limit and cache lookup.
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool


def redis_key(settings: Settings, *parts: str) -> str:
    """A key under ``EDGEWATCH_REDIS_KEY_PREFIX``: ``<prefix>:<part>:<part>…``."""
    return ":".join((settings.redis_key_prefix, *parts))


class FailOpen:
    """Counts and (sparingly) logs Redis failures of one component that then carries on."""

    def __init__(self, component: str) -> None:
        self.component = component
        self._last_warning = -WARN_EVERY_SECONDS

    def failed(self, exc: Exception, *, consequence: str) -> None:
        REDIS_ERRORS.labels(component=self.component).inc()
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning(
                "redis unavailable; failing open",
                component=self.component,
                consequence=consequence,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
