"""Admission control: one API process works on at most ``EDGEWATCH_MAX_CONCURRENT_REQUESTS``
requests at once; the others wait in line, holding nothing, and are refused with a 503 once they
have waited ``EDGEWATCH_REQUEST_QUEUE_TIMEOUT_SECONDS``.

Why a line instead of letting every request in: a synchronous route runs in one of AnyIO's worker
threads and keeps its pooled database connection from its first query until its transaction
ends — in a worker thread too (``api/deps.py``; FastAPI's own response validation used to be a
third hop, now on the loop: ``api/routing.py``). With more requests in flight than threads, every
thread could end up waiting for a connection while every connection was held by a request waiting
for a thread. ``bench/load.py`` drove the API into
exactly that: it stopped answering, even ``/health``, and the queued backlog kept it wedged long
after the load stopped. Here the thread limit equals the admission limit, and each admitted
request uses one thread at a time, so an admitted request never waits for a thread and that
cycle cannot form. Overload then shows as queueing and, past the timeout, as 503s with
``Retry-After`` (``edgewatch_http_requests_shed_total``), never as a hang.

``/health`` is not queued: liveness must answer while the process is busy but alive (it runs on
the event loop, no thread needed).
"""

from __future__ import annotations

import anyio
from anyio import to_thread
from anyio.lowlevel import RunVar
from starlette.types import ASGIApp, Receive, Scope, Send

from edgewatch.api.problems import problem_response
from edgewatch.config import Settings
from edgewatch.observability.metrics import REQUESTS_IN_FLIGHT, REQUESTS_QUEUED, REQUESTS_SHED

NOT_QUEUED = frozenset({"/health"})
#: The slots of each middleware instance, per event loop (an anyio semaphore belongs to one loop).
_SLOTS: RunVar[dict[int, anyio.Semaphore]] = RunVar("edgewatch_admission_slots")
RETRY_AFTER_SECONDS = 1


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_concurrent_requests
        self.queue_timeout = settings.request_queue_timeout_seconds

    def _semaphore(self) -> anyio.Semaphore:
        # Created on first use in each event loop, and the loop's worker threads (the default
        # thread limiter also belongs to the loop) are sized to match at the same moment.
        per_loop = _SLOTS.get(None)
        if per_loop is None:
            per_loop = {}
            _SLOTS.set(per_loop)
        slots = per_loop.get(id(self))
        if slots is None:
            slots = per_loop[id(self)] = anyio.Semaphore(self.limit)
            to_thread.current_default_thread_limiter().total_tokens = self.limit
        return slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NOT_QUEUED:
            await self.app(scope, receive, send)
            return
        slots = self._semaphore()
        REQUESTS_QUEUED.inc()
        admitted = False
        try:
            with anyio.move_on_after(self.queue_timeout):
                await slots.acquire()
                admitted = True
        finally:
            REQUESTS_QUEUED.dec()
        if not admitted:
            REQUESTS_SHED.inc()
            response = problem_response(
                scope,
                status=503,
                code="overloaded",
                detail=(
                    f"The server is busy: no request slot freed up in {self.queue_timeout:g} s; "
                    f"retry in {RETRY_AFTER_SECONDS} s."
                ),
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await response(scope, receive, send)
            return
        REQUESTS_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            REQUESTS_IN_FLIGHT.dec()
            slots.release()
