"""The API's Redis client, and how its failures are reported.

The rate limiter and the response cache share one ``RedisClient`` per app (created by
``create_app``, closed by the lifespan): every request makes two or three Redis round trips
(its rate-limit script, the cache lookup, the store of a miss), so the client is on the hot path
of every request. It keeps one connection per event loop and pipelines on it: concurrent requests
write their commands as they come and Redis answers in order, so no pool, no lock and no
connection hand-off is needed. Replies are parsed by hiredis. Measured on this project's machines
(docs/performance.md), a command costs ~0.08 ms of CPU this way and ~0.25 ms through redis-py's
asyncio client, whose pool, retry and timeout layers cost twice the round trip itself.

Both users fail open: a Redis outage must slow nothing down and take nothing offline, so a call
that cannot connect or answer within ``REDIS_TIMEOUT_SECONDS`` raises (``RedisError`` or
``OSError``), the connection is dropped and the next call connects again; each failure counts in
``edgewatch_redis_errors_total{component}`` and is logged as a warning at most once a minute per
component (an outage would otherwise write one line per request).

URLs are read as redis-py reads them (``redis://[[user]:password@]host[:port][/db]``,
``rediss://`` for TLS with ``?ssl_ca_certs=<file>`` or ``?ssl_cert_reqs=none``,
``unix:///path?db=N``), so every Edgewatch component accepts the same ``EDGEWATCH_REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import hiredis
from redis.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from edgewatch.config import Settings
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import REDIS_ERRORS

#: Seconds to connect and answer before a call counts as failed.
REDIS_TIMEOUT_SECONDS = 0.5
WARN_EVERY_SECONDS = 60.0

#: One Redis command: its name and arguments (str, bytes, int or float).
Command = Sequence[str | bytes | int | float]

log = get_logger(__name__)


@dataclass(slots=True)
class _Waiting:
    """A call whose replies are still arriving."""

    future: asyncio.Future[list[Any]]
    expected: int
    replies: list[Any] = field(default_factory=list)


class _Connection(asyncio.Protocol):
    """One connection: writes calls in order and hands each its replies as they arrive."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._reader = hiredis.Reader(protocolError=InvalidResponse, replyError=ResponseError)
        self._waiting: deque[_Waiting] = deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not an ``asyncio.Transport`` subclass, but has its API).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if not self._waiting:
                self.close(InvalidResponse("Redis sent a reply nobody asked for"))
                return
            head = self._waiting[0]
            head.replies.append(reply)
            if len(head.replies) == head.expected:
                self._waiting.popleft()
                if not head.future.done():  # a caller that timed out has gone
                    head.future.set_result(head.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Redis lost: {exc or 'closed by Redis'}"))

    def send(self, commands: Sequence[Command]) -> asyncio.Future[list[Any]]:
        if self.closed or self.transport is None:
            raise RedisConnectionError("connection to Redis is closed")
        future: asyncio.Future[list[Any]] = self.loop.create_future()
        self._waiting.append(_Waiting(future, len(commands)))
        # hiredis's stub types the command as a 1-tuple; it takes any length.
        self.transport.write(b"".join(hiredis.pack_command(tuple(c)) for c in commands))  # type: ignore[arg-type]
        return future

    def close(self, reason: Exception) -> None:
        if self.transport is not None:
            self.transport.abort()
        self._fail(reason)

    def _fail(self, reason: Exception) -> None:
        self.closed = True
        while self._waiting:
            future = self._waiting.popleft().future
            if not future.done():
                future.set_exception(reason)


class RedisClient:
    """A lazily connecting, pipelining asyncio client for one Redis URL."""

    def __init__(self, url: str, *, timeout: float = REDIS_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._params: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None

    async def execute(self, *commands: Command) -> list[Any]:
        """Send ``commands`` in one write and return their replies, in order.

        An error reply raises ``ResponseError``; no connection or no answer within the timeout
        raises ``ConnectionError``, ``TimeoutError`` (redis-py's) or ``OSError``.
        """
        try:
            async with asyncio.timeout(self.timeout):
                connection = await self._connected()
                replies = await connection.send(commands)
        except TimeoutError:
            self._drop("Redis did not answer in time")
            raise RedisTimeoutError(f"Redis did not answer within {self.timeout:g} s") from None
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    async def aclose(self) -> None:
        self._drop("client closed")

    async def _connected(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is not None and connection.loop is loop and not connection.closed:
            return connection
        if connection is not None and connection.loop is not loop:
            self._abandon(connection)
        task = self._connecting
        if task is None or task.done() or task.get_loop() is not loop:
            task = self._connecting = loop.create_task(self._connect(loop))
            task.add_done_callback(_retrieve)
        # Shielded: one caller giving up must not cancel the connection the others wait for.
        return await asyncio.shield(task)

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        # Its own timeout: the attempt runs on when every caller has given up on it.
        async with asyncio.timeout(self.timeout):
            return await self._open(loop)

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        params = self._params
        if "path" in params:
            _, connection = await loop.create_unix_connection(
                lambda: _Connection(loop), params["path"]
            )
        else:
            tls = _tls_context(params) if params.get("connection_class") is SSLConnection else None
            _, connection = await loop.create_connection(
                lambda: _Connection(loop),
                params.get("host", "localhost"),
                int(params.get("port", 6379)),
                ssl=tls,
            )
        handshake: list[Command] = []
        if params.get("password") is not None:
            handshake.append(("AUTH", *filter(None, (params.get("username"),)), params["password"]))
        if int(params.get("db", 0)):
            handshake.append(("SELECT", int(params["db"])))
        if handshake:
            for reply in await connection.send(handshake):
                if isinstance(reply, ResponseError):
                    connection.close(reply)
                    raise reply
        self._connection = connection
        return connection

    def _drop(self, reason: str) -> None:
        """Close the connection; the next call connects again."""
        if self._connection is not None:
            self._connection.close(RedisConnectionError(reason))
            self._connection = None

    def _abandon(self, connection: _Connection) -> None:
        """Let go of a connection made on another event loop (tests run one loop per client)."""
        self._connection = None
        # If that loop is closed its transport cannot be closed from here: leave it to the GC.
        with contextlib.suppress(RuntimeError):
            connection.close(RedisConnectionError("event loop changed"))


def _tls_context(params: dict[str, Any]) -> ssl.SSLContext:
    """TLS for ``rediss://``: the system's CAs, or ``?ssl_ca_certs=<file>``; ``?ssl_cert_reqs=none``
    turns verification off (redis-py's spelling of both)."""
    context = ssl.create_default_context(cafile=params.get("ssl_ca_certs"))
    if str(params.get("ssl_cert_reqs", "required")).lower() in ("none", "cert_none"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _retrieve(task: asyncio.Task[_Connection]) -> None:
    """Collect a connection attempt's failure, also when every caller had already given up."""
    if not task.cancelled():
        task.exception()


def create_async_redis(settings: Settings) -> RedisClient | None:
    """The API's client for ``EDGEWATCH_REDIS_URL``, or None when it is unset."""
    return RedisClient(settings.redis_url) if settings.redis_url else None


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
