"""CSRF protection for state-changing requests authenticated by the session cookie.

A browser attaches the session cookie to any request for our origin, including one a hostile page
makes it send; it cannot attach a header or form field the hostile page does not know. So every
``POST``/``PUT``/``PATCH``/``DELETE`` made with a session must carry the session's token
(``sessions.csrf_token_for``) in ``X-CSRF-Token`` or, for HTML forms, the ``csrf_token`` field.
The token is given out at sign-in, by ``GET /api/v1/me`` and in the ``edgewatch_csrf`` cookie.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from fastapi import Request

from edgewatch.errors import PermissionDenied
from edgewatch.observability.metrics import AUTH_FAILURES

if TYPE_CHECKING:
    from edgewatch.accounts.principal import Principal

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfFailed(PermissionDenied):
    """The CSRF token is missing or wrong: reload the page (or ``GET /api/v1/me``) and retry."""

    code = "csrf-failed"


async def presented_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        # FastAPI has parsed the form already for the route; this reads its cached copy.
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def require_token(request: Request, principal: Principal) -> None:
    """Raise ``CsrfFailed`` unless the request carries the principal's session CSRF token."""
    expected = principal.csrf_token
    presented = await presented_token(request)
    if expected is None or presented is None or not hmac.compare_digest(presented, expected):
        AUTH_FAILURES.labels(reason="csrf").inc()
        raise CsrfFailed(
            f"Missing or wrong CSRF token: send the session's token in {CSRF_HEADER} "
            f"(GET /api/v1/me returns it)."
        )
