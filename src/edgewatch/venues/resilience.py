"""Calling a venue without hammering it: retries, a rate limiter and a circuit breaker.

``ResilientHttp.get_json`` is the one way venue clients make a request:

1. the ``CircuitBreaker`` refuses at once (``VenueUnavailable``) while the venue's circuit is
   open, i.e. after ``failure_threshold`` consecutive failed calls, until ``reset_timeout``
   seconds have passed; then one trial call is let through (half-open) and its outcome closes or
   re-opens the circuit;
2. the ``TokenBucket`` waits until the venue's documented request rate allows another call;
3. 429, 5xx and network errors (timeouts, refused or dropped connections) are retried with
   exponential backoff and full jitter, waiting ``Retry-After`` seconds instead when the venue
   sends it (Kalshi does not); after ``max_attempts`` the call raises ``VenueUnavailable``.

Other answers raise at once: 404 → ``NotFound``, 401/403 → ``ConfigError`` (credentials),
other 4xx → ``InvalidInput``, a success whose body is not JSON → ``InvalidPayload``.

``circuit_states()`` reports every live breaker's state for ``/health/ready``.

``ReconnectingStream`` does the same for WebSocket subscriptions: reconnect with backoff,
resubscribe everything, keepalive pings, and a watchdog that treats silence as a dead stream.
"""

from __future__ import annotations

import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from edgewatch.clock import utcnow
from edgewatch.errors import ConfigError, InvalidInput, InvalidPayload, NotFound, VenueUnavailable
from edgewatch.observability.metrics import (
    VENUE_CIRCUIT_OPEN,
    VENUE_REQUEST_DURATION,
    VENUE_REQUEST_ERRORS,
)

CircuitState = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]
Sleep = Callable[[float], None]

_BREAKERS: weakref.WeakValueDictionary[str, CircuitBreaker] = weakref.WeakValueDictionary()
_BREAKERS_LOCK = threading.Lock()
_STATIC_SEGMENT = re.compile(r"[a-z_\-]*")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry. Delays are in seconds."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: Longest ``Retry-After`` we honour; a longer one means "down for now": give up instead.
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, *, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return float(ceiling * rng())


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), ``None`` if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - utcnow()).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class TokenBucket:
    """Client-side rate limiter: ``rate`` requests per second on average, bursts of ``burst``."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                # The tolerance stops float rounding (0.9999999 tokens) from sleeping forever.
                if self._tokens >= 1 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1)
                    return waited
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait


class CircuitBreaker:
    """Closed → (``failure_threshold`` consecutive failures) → open → (``reset_timeout`` s) →
    half-open → one trial call → closed on success, open again on failure."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._state: CircuitState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._lock = threading.Lock()
        with _BREAKERS_LOCK:
            _BREAKERS[name] = self

    @property
    def state(self) -> CircuitState:
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.reset_timeout:
                return "half_open"
            return self._state

    def before_call(self) -> None:
        """Raise ``VenueUnavailable`` unless a call may go out now."""
        with self._lock:
            if self._state == "open":
                if self._clock() - self._opened_at < self.reset_timeout:
                    raise VenueUnavailable(f"{self.name}: circuit open after repeated failures")
                self._state = "half_open"
                self._trial_in_flight = False
            if self._state == "half_open":
                if self._trial_in_flight:
                    raise VenueUnavailable(f"{self.name}: circuit half-open, trial call running")
                self._trial_in_flight = True

    def record_success(self) -> None:
        with self._lock:
            self._state = "closed"
            self._failures = 0
            self._trial_in_flight = False
        VENUE_CIRCUIT_OPEN.labels(venue=self.name).set(0)

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._state == "half_open" or self._failures >= self.failure_threshold:
                self._state = "open"
                self._opened_at = self._clock()
            opened = self._state == "open"
        if opened:
            VENUE_CIRCUIT_OPEN.labels(venue=self.name).set(1)


def circuit_states() -> dict[str, CircuitState]:
    """Every live circuit breaker's state by name, for readiness checks."""
    with _BREAKERS_LOCK:
        breakers = list(_BREAKERS.values())
    return {breaker.name: breaker.state for breaker in breakers}


def endpoint_template(path: str) -> str:
    """``/markets/KXMARS-99/orderbook`` → ``/markets/{id}/orderbook``: a bounded metric label.

    Venue paths mix fixed lowercase words with identifiers (tickers, token ids, hex condition
    ids), and identifiers always carry a digit or a capital letter.
    """
    parts = [part if _STATIC_SEGMENT.fullmatch(part) else "{id}" for part in path.split("/")]
    return "/".join(parts)


def _transport_reason(exc: httpx.TransportError) -> str:
    return "timeout" if isinstance(exc, httpx.TimeoutException) else "transport"


def _status_reason(status: int) -> str | None:
    if status == 429:
        return "http_429"
    if status >= 500:
        return "http_5xx"
    return f"http_{status}" if status >= 400 else None


def _is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class ResilientHttp:
    """GET JSON from one venue through its breaker, its rate limiter and the retry policy."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        venue: str,
        limiter: TokenBucket,
        breaker: CircuitBreaker,
        policy: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.venue = venue
        self.limiter = limiter
        self.breaker = breaker
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON body of ``GET path``; see the module docstring for the errors."""
        last_problem = "no attempt made"
        endpoint = endpoint_template(path)
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                self.breaker.before_call()
            except VenueUnavailable:
                VENUE_REQUEST_ERRORS.labels(venue=self.venue, reason="circuit_open").inc()
                raise
            self.limiter.acquire()
            started = time.perf_counter()
            try:
                response = self.client.get(path, params=dict(params or {}))
            except httpx.TransportError as exc:
                self._observe(endpoint, started, _transport_reason(exc))
                self.breaker.record_failure()
                last_problem = f"{type(exc).__name__}: {exc}"
                delay = self.policy.backoff(attempt, rng=self._rng)
            else:
                status = response.status_code
                self._observe(endpoint, started, _status_reason(status))
                if _is_retryable_status(status):
                    if status >= 500:
                        self.breaker.record_failure()
                    else:
                        # Being told to slow down is not the venue failing: the breaker stays
                        # put, and the call still counts as a success for the half-open trial.
                        self.breaker.record_success()
                    last_problem = f"HTTP {status}"
                    waited = retry_after_seconds(response.headers.get("Retry-After"))
                    if waited is not None and waited > self.policy.max_retry_after:
                        break
                    delay = (
                        waited
                        if waited is not None
                        else self.policy.backoff(attempt, rng=self._rng)
                    )
                else:
                    self.breaker.record_success()
                    return self._body(response, path)
            if attempt < self.policy.max_attempts:
                self._sleep(delay)
        raise VenueUnavailable(
            f"{self.venue}: GET {path} failed after {attempt} attempt(s): {last_problem}"
        )

    def _observe(self, endpoint: str, started: float, error: str | None) -> None:
        elapsed = time.perf_counter() - started
        VENUE_REQUEST_DURATION.labels(venue=self.venue, endpoint=endpoint).observe(elapsed)
        if error is not None:
            VENUE_REQUEST_ERRORS.labels(venue=self.venue, reason=error).inc()

    def _body(self, response: httpx.Response, path: str) -> Any:
        status = response.status_code
        if status == 404:
            raise NotFound(f"{self.venue}: {path} not found")
        if status in (401, 403):
            raise ConfigError(f"{self.venue}: {path} refused (HTTP {status}); check credentials")
        if status >= 400:
            raise InvalidInput(f"{self.venue}: {path} rejected the request (HTTP {status})")
        try:
            return response.json()
        except ValueError:
            raise InvalidPayload(
                "invalid_json", f"{self.venue}: {path} did not return JSON"
            ) from None


@dataclass(frozen=True, slots=True)
class Frame:
    """One stream message as received: the raw text and when it arrived (UTC)."""

    text: str
    received_at: datetime


class ReconnectingStream:
    """A WebSocket subscription that survives drops, errors and silence.

    ``frames()`` yields every text frame in order. When the connection closes, fails, or stays
    silent for ``silence_timeout`` seconds (a stalled stream looks alive but says nothing), it
    reconnects with the retry policy's backoff, sends the subscription for every market
    subscribed so far (``subscribe_messages``; markets added while connected go out through
    ``add_messages``), and carries on. ``keepalive`` (Polymarket's
    ``"PING"``) is sent every ``keepalive_interval`` seconds. ``headers`` is called on every
    connect, so signed headers carry a fresh timestamp. The breaker sees each failed connect.
    """

    def __init__(
        self,
        *,
        url: str,
        subscribe_messages: Callable[[frozenset[str]], list[str]],
        breaker: CircuitBreaker,
        add_messages: Callable[[frozenset[str]], list[str]] | None = None,
        headers: Callable[[], Mapping[str, str]] | None = None,
        keepalive: str | None = None,
        keepalive_interval: float = 10.0,
        silence_timeout: float = 30.0,
        open_timeout: float = 10.0,
        policy: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.url = url
        self.subscribe_messages = subscribe_messages
        self.add_messages = add_messages or subscribe_messages
        self.breaker = breaker
        self.headers = headers
        self.keepalive = keepalive
        self.keepalive_interval = keepalive_interval
        self.silence_timeout = silence_timeout
        self.open_timeout = open_timeout
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._markets: set[str] = set()
        self._connection: ClientConnection | None = None
        self._lock = threading.Lock()
        #: How many connections were opened; a test and a health check can watch it.
        self.connects = 0

    @property
    def markets(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._markets)

    def subscribe(self, markets: Iterable[str]) -> None:
        """Add markets; sent at once when connected, and again after every reconnect."""
        with self._lock:
            new = frozenset(markets) - self._markets
            self._markets |= new
            connection = self._connection
        if new and connection is not None:
            try:
                for message in self.add_messages(new):
                    connection.send(message)
            except (ConnectionClosed, OSError):
                pass  # the reconnect resubscribes everything

    def restart(self) -> None:
        """Drop the connection so ``frames()`` reconnects and resubscribes (after a sequence
        gap, for example: a new subscription brings fresh snapshots)."""
        with self._lock:
            connection = self._connection
        if connection is not None:
            connection.close()

    def _connect(self) -> ClientConnection:
        failures = 0
        while True:
            self.breaker.before_call()
            try:
                connection = connect(
                    self.url,
                    additional_headers=dict(self.headers()) if self.headers else None,
                    open_timeout=self.open_timeout,
                    proxy=None,
                )
                for message in self.subscribe_messages(self.markets):
                    connection.send(message)
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed):
                self.breaker.record_failure()
                failures += 1
                if failures >= self.policy.max_attempts:
                    raise VenueUnavailable(f"{self.url}: cannot connect") from None
                self._sleep(self.policy.backoff(failures))
                continue
            self.breaker.record_success()
            self.connects += 1
            with self._lock:
                self._connection = connection
            return connection

    def frames(self, *, stop: threading.Event | None = None) -> Iterator[Frame]:
        """Frames until ``stop`` is set; raises ``VenueUnavailable`` when reconnecting fails."""
        stop = stop or threading.Event()
        while not stop.is_set():
            connection = self._connect()
            last_frame = last_ping = self._clock()
            try:
                while not stop.is_set():
                    now = self._clock()
                    if self.keepalive and now - last_ping >= self.keepalive_interval:
                        connection.send(self.keepalive)
                        last_ping = now
                    if now - last_frame >= self.silence_timeout:
                        break  # a silent stream is a dead stream
                    wait = min(
                        self.keepalive_interval if self.keepalive else self.silence_timeout,
                        self.silence_timeout - (now - last_frame),
                    )
                    try:
                        message = connection.recv(timeout=max(0.01, wait))
                    except TimeoutError:
                        continue
                    last_frame = self._clock()
                    text = (
                        message if isinstance(message, str) else message.decode("utf-8", "replace")
                    )
                    if self.keepalive and text.strip().upper() == "PONG":
                        continue
                    yield Frame(text, utcnow())
            except (ConnectionClosed, OSError):
                self.breaker.record_failure()
            finally:
                with self._lock:
                    self._connection = None
                connection.close()
