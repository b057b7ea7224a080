"""``ApiRoute``: the route class of every API router, so a request crosses to a worker thread once.

FastAPI runs a plain ``def`` endpoint in a worker thread and then validates what it returned in a
second worker thread. Each hand-off between the event loop and a thread costs more CPU than
validating a typical page (about 0.1–0.3 ms on this project's machines, see docs/performance.md).
``ApiRoute`` wraps such an endpoint in an ``async`` function that awaits the same thread pool
once; FastAPI then validates and serialises the result on the event loop.

It also removes the case the admission limit (``api/admission.py``) exists for in the first
place: a response waiting for a free thread while its request still holds a database connection.
The limit stays, for the session dependency's own hand-off.

``first_full_match`` finds the route a request will go to the way the router does, for the
middleware that needs to know it before routing (the rate limiter's metric label, the response
cache's early hits).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi.routing import APIRoute, RouteContext
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope


def in_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``endpoint`` as a coroutine function that runs it in the thread pool.

    ``functools.wraps`` keeps what FastAPI reads: the signature and the globals its annotations
    resolve in (through ``__wrapped__``), the name (the OpenAPI operation id) and the docstring.
    """

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


class ApiRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = in_worker_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


def first_full_match(routes: Iterable[RouteContext], scope: Scope) -> RouteContext | None:
    """The first of ``routes`` that matches the request's path and method, as the router picks."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None
