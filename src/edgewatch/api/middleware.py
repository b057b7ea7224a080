"""Per-request plumbing: request id, one access log line, HTTP metrics, the 500 safety net.

A pure ASGI middleware (not ``BaseHTTPMiddleware``) so it adds no extra task per request and sees
the final status of every response, including errors answered by the exception handlers.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edgewatch.api.problems import internal_error_response
from edgewatch.observability.logging import bind_context, clear_context, get_logger
from edgewatch.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

REQUEST_ID_HEADER = "X-Request-ID"
# Accept a caller's id only if it is short and plain, so it is safe in logs and headers.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

log = get_logger("edgewatch.api")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_REQUEST_ID.fullmatch(text) else None
    return None


def _route_label(scope: Scope, status: int) -> str:
    """The route template (``/api/v1/markets/{market_id}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return "unmatched" if status in (404, 405) else "other"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        clear_context()
        bind_context(request_id=request_id)
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            log.exception("unhandled error", method=scope["method"], path=scope["path"])
            if response_started:
                raise
            await internal_error_response(scope)(scope, receive, send_with_request_id)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"]
            route = _route_label(scope, status)
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_LATENCY.labels(method=method, route=route).observe(elapsed)
            log.info(
                "request",
                method=method,
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            clear_context()
