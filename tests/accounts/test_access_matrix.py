"""The role × route matrix: every route of the app, with each role and with no credentials.

Expected: public routes answer anyone; without credentials a protected route is 401; with a role
lacking the route's scope, 403; otherwise neither (the route runs and may answer 200, 404, 409 or
422 to the placeholder ids and empty bodies used here). A route missing from
``accounts/access.py`` fails ``test_every_route_has_an_access_rule`` by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from edgewatch.accounts.access import PUBLIC, ROUTE_ACCESS, rule_for
from edgewatch.accounts.scopes import PUBLIC_READ_SCOPES, ROLE_SCOPES
from edgewatch.api.app import create_app
from edgewatch.config import Settings

from .conftest import TestClient

METHODS = ("get", "post", "put", "patch", "delete")
ROLES = ("admin", "analyst", "viewer")


def _api_routes(routes: list[Any]) -> Iterator[tuple[str, set[str], bool]]:
    """(full path, methods, in schema) of every API route, also inside included routers, which
    FastAPI keeps lazily as "effective" routes carrying the combined prefix and flags."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route.path, set(route.methods), route.include_in_schema
        candidates = getattr(route, "effective_candidates", None)
        if not callable(candidates):
            continue
        for candidate in candidates():
            if isinstance(getattr(candidate, "original_route", None), APIRoute):
                yield candidate.path, set(candidate.methods), candidate.include_in_schema
            else:
                yield from _api_routes([candidate])


def operations(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation in the OpenAPI schema and every route hidden
    from it."""
    found = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in METHODS
    }
    for path, methods, in_schema in _api_routes(app.routes):
        if not in_schema:
            found |= {(method, path) for method in methods if method != "HEAD"}
    return sorted(found)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def expected(rule: str, scopes: frozenset[str], *, anonymous: bool) -> str:
    if rule == PUBLIC or rule in scopes:
        return "allowed"
    return "401" if anonymous else "403"


def outcome(response: Any) -> str:
    """401 and 403 as such; the dashboard's trip to the sign-in page counts as a 401."""
    location = response.headers.get("location", "")
    if response.status_code in (302, 303) and location.startswith("/auth/login"):
        return "401"
    return str(response.status_code) if response.status_code in (401, 403) else "allowed"


def test_every_route_has_an_access_rule(app: FastAPI) -> None:
    missing = [
        f"{method} {path}" for method, path in operations(app) if rule_for(method, path) is None
    ]
    assert not missing, f"add these routes to ROUTE_ACCESS in accounts/access.py: {missing}"


def test_the_table_names_no_route_that_does_not_exist(app: FastAPI) -> None:
    stale = sorted(set(ROUTE_ACCESS) - set(operations(app)))
    assert not stale, f"ROUTE_ACCESS lists routes the app does not have: {stale}"


def test_a_route_missing_from_the_table_is_refused(app: FastAPI, client: Any) -> None:
    app.add_api_route("/api/v1/unlisted", lambda: {"secret": True})

    response = client.get("/api/v1/unlisted")

    assert response.status_code == 500
    assert "secret" not in response.text


@pytest.mark.parametrize("who", [*ROLES, None], ids=[*ROLES, "anonymous"])
def test_each_role_gets_exactly_what_the_table_grants(
    who: str | None, app: FastAPI, client_as: Callable[..., Any]
) -> None:
    scopes = ROLE_SCOPES[who] if who else frozenset()
    mismatches = []
    for method, path in operations(app):
        rule = rule_for(method, path)
        assert rule is not None, f"{method} {path} has no access rule"
        # A fresh user per request: routes like DELETE /api/v1/me end the caller's account.
        response = client_as(who, follow_redirects=False).request(method, concrete(path))
        want = expected(rule, scopes, anonymous=who is None)
        if outcome(response) != want:
            mismatches.append(f"{method} {path}: wanted {want}, got {response.status_code}")
        if response.status_code >= 500:
            mismatches.append(f"{method} {path}: server error {response.status_code}")
    assert not mismatches, "\n".join(mismatches)


def test_public_read_lets_anonymous_callers_read_and_nothing_more(app_settings: Settings) -> None:
    app = create_app(app_settings.model_copy(update={"public_read": True}))
    with TestClient(app, follow_redirects=False) as anonymous:
        mismatches = []
        for method, path in operations(app):
            rule = rule_for(method, path)
            assert rule is not None
            response = anonymous.request(method, concrete(path))
            want = expected(rule, PUBLIC_READ_SCOPES, anonymous=True)
            if outcome(response) != want:
                mismatches.append(f"{method} {path}: wanted {want}, got {response.status_code}")
    assert not mismatches, "\n".join(mismatches)
