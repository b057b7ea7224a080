"""Scopes (what a credential may do) and the scopes each role grants.

Authority is expressed as scopes so that an API key can carry less than its owner's role: a key's
effective scopes are its own scopes intersected with the owner's *current* role, so demoting a
user shrinks every key they made, at once.
"""

from __future__ import annotations

from typing import Final

SCOPES: Final[dict[str, str]] = {
    "read": "Read markets, ticks, signals, links, backtests, pipelines and the dashboard.",
    "account": "Manage your own profile, API keys, sessions and consent; export or erase it.",
    "backtests:run": "Queue and cancel backtests.",
    "paper:trade": "Open and trade paper accounts.",
    "links:review": "Confirm or reject cross-venue links.",
    "pipelines:run": "Start pipelines by hand.",
    "admin": "Manage users and the installation.",
}

_VIEWER = frozenset({"read", "account"})
_ANALYST = _VIEWER | {"backtests:run", "paper:trade"}

ROLE_SCOPES: Final[dict[str, frozenset[str]]] = {
    "viewer": _VIEWER,
    "analyst": _ANALYST,
    "admin": frozenset(SCOPES),
}

#: What an unauthenticated request may do when ``EDGEWATCH_PUBLIC_READ`` is on: a viewer's reading,
#: never anything tied to an account.
PUBLIC_READ_SCOPES: Final[frozenset[str]] = frozenset({"read"})


def scopes_of_role(role: str) -> frozenset[str]:
    """The scopes ``role`` grants; an unknown role (a row edited by hand) grants nothing."""
    return ROLE_SCOPES.get(role, frozenset())
