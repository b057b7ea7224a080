"""Who is looking at the dashboard, and what they may do: one place decides which buttons show.

Pages never compare role names; they ask ``viewer.may(scope)`` with the same scopes the access
table (``accounts/access.py``) enforces on every route, so a button is shown exactly when the
server would accept its request. A viewer who crafts the request anyway is refused by that table
before the page code runs; the routes also call ``require`` as a second line.

The viewer comes from the principal the access check put on ``request.state``. Without one (an
app built without accounts, as in unit tests of a single router) the local operator may do
everything, as the API allowed before accounts existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from edgewatch.accounts.sessions import SESSION_COOKIE
from edgewatch.errors import PermissionDenied

Scope = Literal[
    "read", "account", "backtests:run", "paper:trade", "links:review", "pipelines:run", "admin"
]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person behind a request. ``signed_in`` is false for anonymous public reading."""

    actor: str
    role: str | None
    scopes: frozenset[str]
    signed_in: bool
    #: The session's CSRF token, sent back by every form (None for API-key or anonymous callers).
    csrf_token: str | None = None
    #: Whether sign-in exists at all in this app (the local operator has nothing to sign into).
    accounts: bool = True
    #: The browser still sends a session cookie that no longer signs anyone in (expired, revoked).
    session_expired: bool = False
    #: The signed-in user's id, for what they own (paper accounts, API keys).
    user_id: int | None = None

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes

    def require(self, scope: Scope) -> None:
        if not self.may(scope):
            raise PermissionDenied(f"This needs the {scope!r} scope, which you do not have.")


LOCAL_OPERATOR = Viewer(
    actor="dashboard:local",
    role="admin",
    scopes=frozenset(
        {
            "read",
            "account",
            "backtests:run",
            "paper:trade",
            "links:review",
            "pipelines:run",
            "admin",
        }
    ),
    signed_in=False,
    accounts=False,
)


def viewer_of(request: Request) -> Viewer:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return LOCAL_OPERATOR
    signed_in = not principal.is_anonymous
    return Viewer(
        actor=principal.actor,
        role=principal.role,
        scopes=frozenset(principal.scopes),
        signed_in=signed_in,
        csrf_token=principal.csrf_token,
        session_expired=not signed_in and bool(request.cookies.get(SESSION_COOKIE)),
        user_id=principal.user_id,
    )


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str
    section: str
    scope: Scope


NAVIGATION = (
    NavItem("Overview", "/", "overview", "read"),
    NavItem("Markets", "/markets", "markets", "read"),
    NavItem("Links", "/links", "links", "read"),
    NavItem("Signals", "/signals", "signals", "read"),
    NavItem("Backtests", "/backtests", "backtests", "read"),
    NavItem("Paper", "/paper", "paper", "read"),
    NavItem("Admin", "/admin", "admin", "admin"),
    NavItem("Guide", "/guide", "guide", "read"),
)
