"""Who may call what: THE table of route → required scope, and the one check that enforces it.

Every route of the app is listed in ``ROUTE_ACCESS`` as ``(method, path template): rule``, where the
rule is ``PUBLIC`` or one scope from ``scopes.SCOPES``. ``authorize`` runs as an app-wide
dependency (``create_app`` passes it to ``FastAPI(dependencies=...)``), so it sees every route,
including ones added later. A route without an entry is refused with a 500 and an error in the log
— fail closed — and ``tests/accounts/test_access_matrix.py`` fails, naming it. Adding a route means
adding one line here.

Outcomes: no or invalid credentials on a non-public route → 401; valid credentials without the
scope → 403; a state-changing request authenticated by a session cookie without the right
``X-CSRF-Token`` header (or ``csrf_token`` form field) → 403. API keys need no CSRF token: a
browser never attaches them on its own.

Public routes skip credential checks entirely, so a stale cookie never breaks the health checks.
``/metrics`` is public on purpose: Prometheus scrapes it without credentials (see deploy/k8s), and
its labels carry route templates and counts, never user data; keep it off the public internet at
the proxy if that matters.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from edgewatch.accounts import csrf
from edgewatch.accounts.principal import Principal, remembered_principal, resolve_principal
from edgewatch.accounts.sessions import SESSION_COOKIE
from edgewatch.errors import EdgewatchError, NotAuthenticated, PermissionDenied
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import AUTH_FAILURES

PUBLIC: Final = "public"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

# fmt: off
ROUTE_ACCESS: dict[tuple[str, str], str] = {
    # Operations and documentation
    ("GET", "/health"):                                     PUBLIC,
    ("GET", "/health/ready"):                               PUBLIC,
    ("GET", "/metrics"):                                    PUBLIC,
    ("GET", "/api/v1/disclaimers"):                         PUBLIC,
    # Signing in and out
    ("GET", "/auth/login"):                                 PUBLIC,
    ("POST", "/auth/login"):                                PUBLIC,
    ("GET", "/auth/sso/{provider}"):                        PUBLIC,
    ("GET", "/auth/sso/{provider}/callback"):               PUBLIC,
    ("POST", "/auth/logout"):                               "account",
    # The signed-in user's own account
    ("GET", "/api/v1/me"):                                  "account",
    ("DELETE", "/api/v1/me"):                               "account",
    ("PUT", "/api/v1/me/password"):                         "account",
    ("GET", "/api/v1/me/export"):                           "account",
    ("GET", "/api/v1/me/consent"):                          "account",
    ("PUT", "/api/v1/me/consent"):                          "account",
    ("GET", "/api/v1/me/keys"):                             "account",
    ("POST", "/api/v1/me/keys"):                            "account",
    ("DELETE", "/api/v1/me/keys/{key_id}"):                 "account",
    ("GET", "/api/v1/me/sessions"):                         "account",
    ("DELETE", "/api/v1/me/sessions/{session_id}"):         "account",
    # Dashboard (server-rendered pages; buttons show only with the scope their POST needs)
    ("GET", "/"):                                           "read",
    ("GET", "/overview/live"):                              "read",
    ("GET", "/guide"):                                      "read",
    ("GET", "/favicon.ico"):                                PUBLIC,
    ("GET", "/markets"):                                    "read",
    ("GET", "/markets/{market_id}"):                        "read",
    ("GET", "/links"):                                      "read",
    ("GET", "/links/{link_id}"):                            "read",
    ("POST", "/links/{link_id}/confirm"):                   "links:review",
    ("POST", "/links/{link_id}/reject"):                    "links:review",
    ("GET", "/signals"):                                    "read",
    ("GET", "/signals/feed"):                               "read",
    ("GET", "/signals/calibration"):                        "read",
    ("GET", "/signals/{signal_id}"):                        "read",
    ("GET", "/backtests"):                                  "read",
    ("POST", "/backtests"):                                 "backtests:run",
    ("GET", "/backtests/compare"):                          "read",
    ("GET", "/backtests/{run_id}"):                         "read",
    ("GET", "/backtests/{run_id}/progress"):                "read",
    ("POST", "/backtests/{run_id}/cancel"):                 "backtests:run",
    ("GET", "/admin"):                                      "admin",
    ("GET", "/admin/pipelines"):                            "admin",
    ("POST", "/admin/pipelines/{name}/run"):                "pipelines:run",
    ("GET", "/admin/quarantine"):                           "admin",
    ("GET", "/admin/models"):                               "admin",
    ("GET", "/admin/users"):                                "admin",
    ("POST", "/admin/users/{user_id}/role"):                "admin",
    ("GET", "/account"):                                    "account",
    ("POST", "/account/keys"):                              "account",
    ("POST", "/account/keys/{key_id}/revoke"):              "account",
    ("GET", "/paper"):                                      "read",
    ("GET", "/paper/{account_id}"):                         "read",
    ("POST", "/paper/{account_id}/kill-switch"):            "paper:trade",
    # Markets, ticks and links
    ("GET", "/api/v1/markets"):                             "read",
    ("GET", "/api/v1/markets/{market_id}"):                 "read",
    ("GET", "/api/v1/markets/{market_id}/ticks"):           "read",
    ("GET", "/api/v1/links"):                               "read",
    ("GET", "/api/v1/links/{link_id}"):                     "read",
    ("POST", "/api/v1/links/{link_id}/confirm"):            "links:review",
    ("POST", "/api/v1/links/{link_id}/reject"):             "links:review",
    # Signals and how they scored
    ("GET", "/api/v1/signals"):                             "read",
    ("GET", "/api/v1/signals/scores"):                      "read",
    ("GET", "/api/v1/strategies/{name}/calibration"):       "read",
    # Pipelines
    ("GET", "/api/v1/pipelines"):                           "read",
    ("POST", "/api/v1/pipelines/{name}/runs"):              "pipelines:run",
    ("GET", "/api/v1/quarantine"):                          "read",
    ("GET", "/api/v1/data-quality"):                        "read",
    # Backtests
    ("POST", "/api/v1/backtests"):                          "backtests:run",
    ("GET", "/api/v1/backtests"):                           "read",
    ("GET", "/api/v1/backtests/{run_id}"):                  "read",
    ("GET", "/api/v1/backtests/{run_id}/trades"):           "read",
    ("GET", "/api/v1/backtests/{run_id}/equity"):           "read",
    ("POST", "/api/v1/backtests/{run_id}/cancel"):          "backtests:run",
    # Paper trading (each user sees only their own accounts: paper/service.py)
    ("GET", "/api/v1/paper/accounts"):                              "read",
    ("POST", "/api/v1/paper/accounts"):                             "paper:trade",
    ("GET", "/api/v1/paper/accounts/{account_id}"):                 "read",
    ("GET", "/api/v1/paper/accounts/{account_id}/positions"):       "read",
    ("GET", "/api/v1/paper/accounts/{account_id}/orders"):          "read",
    ("POST", "/api/v1/paper/accounts/{account_id}/orders"):         "paper:trade",
    ("GET", "/api/v1/paper/accounts/{account_id}/fills"):           "read",
    ("GET", "/api/v1/paper/accounts/{account_id}/settlements"):     "read",
    ("GET", "/api/v1/paper/accounts/{account_id}/equity"):          "read",
    ("POST", "/api/v1/paper/accounts/{account_id}/kill-switch"):    "paper:trade",
}
# fmt: on

log = get_logger(__name__)

# Declared for the OpenAPI schema (the "Authorize" button of /docs); ``resolve_principal`` reads
# the same headers and cookie itself.
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from POST /api/v1/me/keys."
)
_bearer = HTTPBearer(auto_error=False, description="An API key, as `Authorization: Bearer <key>`.")
_session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="A browser session (POST /auth/login)."
)


def rule_for(method: str, path: str) -> str | None:
    """The rule for a route, or ``None`` when the table has no entry (the route is refused)."""
    return ROUTE_ACCESS.get(("GET" if method == "HEAD" else method, path))


def remembered_and_allowed(request: Request, path: str) -> Principal | None:
    """The caller, when ``authorize`` would admit this request without a database lookup or a
    thread: a non-public route, and an API key remembered moments ago (``key_cache``) whose scopes
    include the route's rule. None means only ``authorize`` can decide.

    Lets the response cache answer a hit before FastAPI resolves the route's dependencies
    (``api/cache.py``), by the same table and the same remembered keys as ``authorize``.
    """
    rule = rule_for(request.method, path)
    if rule is None or rule == PUBLIC:
        return None
    principal = remembered_principal(request)
    return principal if principal is not None and rule in principal.scopes else None


async def authorize(
    request: Request,
    _api_key: Annotated[str | None, Security(_api_key_header)],
    _bearer_key: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _session: Annotated[str | None, Security(_session_cookie)],
) -> None:
    """Resolve who is calling and refuse the request unless the route's rule allows it.

    Sets ``request.state.principal`` for routes that are not public. The three security
    parameters only document the accepted credentials in OpenAPI; ``resolve_principal`` reads them.
    """
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    rule = rule_for(request.method, path) if isinstance(path, str) else None
    if rule is None:
        log.error("route has no access rule; refused", method=request.method, route=path)
        raise EdgewatchError(f"no access rule for {request.method} {path}")
    if rule == PUBLIC:
        return
    principal = remembered_principal(request)
    if principal is None:
        principal = await run_in_threadpool(resolve_principal, request)
    request.state.principal = principal
    if rule not in principal.scopes:
        AUTH_FAILURES.labels(reason="insufficient_scope").inc()
        if principal.is_anonymous:
            raise NotAuthenticated("Authentication required: send an API key or sign in.")
        raise PermissionDenied(
            f"This needs the {rule!r} scope, which your {principal.credential} lacks."
        )
    if principal.via == "session" and request.method not in SAFE_METHODS:
        await csrf.require_token(request, principal)
