"""Mounting accounts into the app: the sign-in and ``/api/v1/me`` routes, and the signed cookie
that carries an SSO flow's state. ``create_app`` calls ``install`` once."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.middleware.sessions import SessionMiddleware

from edgewatch.accounts.auth_router import router as auth_router
from edgewatch.accounts.me_router import router as me_router
from edgewatch.accounts.sessions import cookie_secure
from edgewatch.config import Settings

SSO_STATE_COOKIE = "edgewatch_sso"
SSO_STATE_MAX_AGE = 600

router = APIRouter()
router.include_router(auth_router)
router.include_router(me_router)


def install(app: FastAPI) -> None:
    """Include the accounts routes and the SSO state cookie (signed with the secret key, sent only
    to ``/auth/sso``, gone after ten minutes)."""
    settings: Settings = app.state.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SSO_STATE_COOKIE,
        max_age=SSO_STATE_MAX_AGE,
        path="/auth/sso",
        same_site="lax",
        https_only=cookie_secure(settings),
    )
    app.include_router(router)
