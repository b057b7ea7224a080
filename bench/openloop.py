"""A lean open-loop HTTP/1.1 load generator for the benchmarks.

Why not aiohttp or httpx: on these two-core machines the load generator shares the CPU with the
server it measures, and aiohttp's client spent ~1 ms of CPU per request (response objects, header
multidicts, timeouts, the cookie jar), as much as a cached API answer. Every millisecond the
generator burns is one the server cannot use, so the figures measured the client as much as the
server. This one writes pre-formatted GET requests on keep-alive connections and parses answers
with httptools (uvicorn's C parser): ~0.1 ms per request.

Open loop: requests leave on schedule whether or not earlier ones have answered, so a slow
server shows up as latency instead of being hidden by a polite client. At most ``max_in_flight``
connections are open; a request that finds them all busy waits for one, and that wait counts in
its latency.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools
import uvloop


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: int = 0
    sent: int = 0
    elapsed: float = 0.0
    #: CPU seconds this process (the generator) used for the phase.
    client_cpu: float = 0.0

    def all_ms(self) -> list[float]:
        return [ms for values in self.latencies.values() for ms in values]


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future[int] | None = None
        self.open = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"unparseable response: {exc}"))

    def on_message_complete(self) -> None:
        if not self.parser.should_keep_alive():
            self.close()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(ConnectionError("connection closed by the server"))

    def _fail(self, exc: Exception) -> None:
        self.close()
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    async def get(self, request: bytes, timeout: float) -> int:
        """Send one request and wait for the status of its answer."""
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        try:
            return await asyncio.wait_for(self.answer, timeout)
        except TimeoutError:
            self.close()  # the late answer would otherwise be read as the next request's
            raise


class Client:
    """A pool of at most ``max_in_flight`` connections to one server."""

    def __init__(self, base_url: str, headers: dict[str, str], max_in_flight: int) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        lines = [f"Host: {parts.netloc}", *(f"{name}: {value}" for name, value in headers.items())]
        self._headers = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self._idle: deque[_Connection] = deque()
        self._opened = 0
        self._limit = max_in_flight
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def get(self, path: str, timeout: float) -> int:
        """The status of ``GET path``; raises ConnectionError or TimeoutError on failure."""
        connection = await self._acquire()
        try:
            return await connection.get(
                b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._headers, timeout
            )
        finally:
            self._release(connection)

    async def _acquire(self) -> _Connection:
        while True:
            while self._idle:
                connection = self._idle.pop()
                if connection.open:
                    return connection
                self._opened -= 1
            if self._opened < self._limit:
                self._opened += 1
                try:
                    _, protocol = await asyncio.get_running_loop().create_connection(
                        _Connection, self.host, self.port
                    )
                except OSError:
                    self._opened -= 1
                    raise
                return protocol
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _release(self, connection: _Connection) -> None:
        if connection.open:
            self._idle.append(connection)
        else:
            self._opened -= 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def drive(
    base_url: str,
    headers: dict[str, str],
    rate: float,
    seconds: float,
    pick: Callable[[], tuple[str, str]],
    *,
    max_in_flight: int = 256,
    timeout: float = 10.0,
) -> Results:
    """Send ``rate`` requests/s for ``seconds`` on schedule (on uvloop), then wait for every answer.

    ``pick`` returns (route label, path); a status of 400 or more, a timeout or a broken
    connection counts as an error. Latency is measured from the request's scheduled start.
    """
    started = time.process_time()
    results = uvloop.run(_drive(base_url, headers, rate, seconds, pick, max_in_flight, timeout))
    results.client_cpu = time.process_time() - started
    return results


async def _drive(
    base_url: str,
    headers: dict[str, str],
    rate: float,
    seconds: float,
    pick: Callable[[], tuple[str, str]],
    max_in_flight: int,
    timeout: float,
) -> Results:
    results = Results()
    client = Client(base_url, headers, max_in_flight)

    async def one(route: str, path: str, scheduled: float) -> None:
        try:
            ok = await client.get(path, timeout) < 400
        except (ConnectionError, OSError, TimeoutError):
            ok = False
        results.latencies[route].append((time.perf_counter() - scheduled) * 1000)
        results.errors += not ok

    tasks = []
    total = int(rate * seconds)
    begin = time.perf_counter()
    for index in range(total):
        scheduled = begin + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*pick(), scheduled)))
    await asyncio.gather(*tasks)
    client.close()
    results.sent = total
    results.elapsed = time.perf_counter() - begin
    return results
