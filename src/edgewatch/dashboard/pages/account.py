"""``/account``: your own API keys; ``/admin/users``: users and their roles (admins).

Keys are made and revoked by the ``/api/v1/me/keys`` handlers themselves (same checks, same audit
entries); a new key is shown once, on the page that answers the form, and never again. Roles change
through ``accounts.users.set_role``, which keeps at least one active admin and audits the change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from edgewatch.accounts import api_keys, users
from edgewatch.accounts.me_router import create_key, revoke_key
from edgewatch.accounts.principal import Principal, get_current_user
from edgewatch.accounts.schemas import KeyCreate
from edgewatch.accounts.scopes import SCOPES, scopes_of_role
from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import MAX_ID
from edgewatch.dashboard import forms
from edgewatch.dashboard.routing import DashboardRoute, url_with
from edgewatch.dashboard.templating import render
from edgewatch.dashboard.viewer import viewer_of
from edgewatch.errors import InvalidInput, NotFound
from edgewatch.models import User
from edgewatch.models.account import ROLES

router = APIRouter(route_class=DashboardRoute)

USERS_PAGE_SIZE = 50


def _account_page(
    request: Request, session: SessionDep, principal: Principal, *, new_key: str | None = None
) -> Response:
    role = principal.role or "viewer"
    return render(
        request,
        "account.html",
        {
            "keys": api_keys.list_for(session, principal.owner_id),
            "scopes": {name: SCOPES[name] for name in sorted(scopes_of_role(role))},
            "new_key": new_key,
        },
    )


@router.get("/account", summary="Dashboard: your API keys (HTML)", response_class=HTMLResponse)
def account(request: Request, session: SessionDep) -> Response:
    return _account_page(request, session, get_current_user(request))


@router.post("/account/keys", summary="Dashboard: make an API key", response_class=HTMLResponse)
def make_key(
    request: Request,
    session: SessionDep,
    name: Annotated[str, Form(max_length=100)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    principal = get_current_user(request)
    try:
        body = KeyCreate(name=name.strip(), scopes=scopes or [])
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"{first['loc'][0]}: {first['msg']}") from None
    created = create_key(principal, session, body)
    return _account_page(request, session, principal, new_key=created.key)


@router.post(
    "/account/keys/{key_id}/revoke",
    summary="Dashboard: revoke one of your API keys",
    response_class=HTMLResponse,
)
def drop_key(
    request: Request, session: SessionDep, key_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Response:
    revoke_key(get_current_user(request), session, key_id)
    return RedirectResponse("/account", status_code=303)


@router.get(
    "/admin/users", summary="Dashboard: users and roles (HTML)", response_class=HTMLResponse
)
def user_list(
    request: Request,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    viewer_of(request).require("admin")
    rows, has_more = split_page(
        users.list_users(
            session,
            limit=USERS_PAGE_SIZE + 1,
            after_id=decode_id_cursor(forms.text(cursor, name="cursor")),
        ),
        USERS_PAGE_SIZE,
    )
    return render(
        request,
        "admin_users.html",
        {
            "rows": rows,
            "roles": ROLES,
            "next_url": url_with(request, cursor=encode_cursor(rows[-1].id)) if has_more else None,
            "first_url": url_with(request, cursor=None) if cursor else None,
        },
    )


@router.post(
    "/admin/users/{user_id}/role",
    summary="Dashboard: change a user's role",
    response_class=HTMLResponse,
)
def change_role(
    request: Request,
    session: SessionDep,
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    viewer = viewer_of(request)
    viewer.require("admin")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    users.set_role(session, user, role=role, actor=viewer.actor)
    return RedirectResponse("/admin/users", status_code=303)
