"""Dashboard routes answer errors as pages, and lists page through keyset cursors.

``DashboardRoute`` turns an ``EdgewatchError`` or a validation error raised while serving a page
into the error page (or, for an htmx request, a small fragment) with the same status the API
would use; a 401 (no session, or it expired) becomes a trip to the sign-in page and back. The
API's problem+json handlers still answer everything outside the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response

from edgewatch.dashboard.templating import is_htmx, render
from edgewatch.dashboard.viewer import viewer_of
from edgewatch.errors import EdgewatchError
from edgewatch.observability.logging import get_logger

log = get_logger(__name__)

#: The sign-in page (``accounts.auth_router``); it sends the browser back to ``next``.
SIGN_IN_PATH = "/auth/login"


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = str(error.get("loc", ("", "value"))[-1])
        parts.append(
            f"{field}: {str(error.get('msg', 'invalid value')).removeprefix('Value error, ')}"
        )
    return "; ".join(parts) or "invalid request"


def error_page(request: Request, *, status: int, message: str) -> Response:
    return render(
        request,
        "error_fragment.html" if is_htmx(request) else "error.html",
        {"status": status, "message": message},
        status_code=status,
    )


def _local_path(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if path.startswith("/") and not path.startswith("//") else None


def to_sign_in(request: Request) -> Response:
    """Send someone without a (live) session to the sign-in page, to come back where they were.

    A page load is redirected; an htmx poll gets 401 with ``HX-Redirect`` so the whole page goes,
    not just the panel. Either way ``next`` is the page they were looking at.
    """
    if request.method == "GET" and not is_htmx(request):
        back = _local_path(str(request.url))
    else:
        back = _local_path(request.headers.get("HX-Current-URL")) or _local_path(
            request.headers.get("referer")
        )
    target = f"{SIGN_IN_PATH}?{urlencode({'next': back or '/'})}"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


class DashboardRoute(APIRoute):
    """An ``APIRoute`` whose errors are rendered for people, not for API clients."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except RequestValidationError as exc:
                return error_page(request, status=422, message=_validation_message(exc))
            except EdgewatchError as exc:
                if exc.status_code == 401:
                    return to_sign_in(request)
                if exc.status_code >= 500:
                    log.error("dashboard page failed", error_code=exc.code, error=exc.message)
                    message = "Something went wrong on the server; try again shortly."
                else:
                    message = exc.message
                return error_page(request, status=exc.status_code, message=message)
            if is_htmx(request) and viewer_of(request).session_expired:
                # The page around this panel was drawn for a session that has ended; rather
                # than quietly refresh it as an anonymous reader, go and sign in again.
                return to_sign_in(request)
            return response

        return handle


def url_with(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = {key: value for key, value in request.query_params.items() if value != ""}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    url = request.url.replace_query_params(**params)
    return f"{url.path}?{url.query}" if url.query else url.path
