"""``/auth``: sign in with a password or SSO, sign out. Browser-facing, but JSON clients work too.

``POST /auth/login`` takes JSON (answers with the user and the CSRF token) or an HTML form
(answers with a redirect to ``next``). Either way the session token goes only into the
``HttpOnly`` cookie. Sign-in routes are public in the access table; they refuse cross-site form
posts by their ``Origin`` (login CSRF), and failed sign-ins are audited and counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from edgewatch.accounts import oidc, sessions, users
from edgewatch.accounts.principal import CurrentUserDep
from edgewatch.accounts.schemas import LoginBody, MeOut
from edgewatch.accounts.scopes import scopes_of_role
from edgewatch.accounts.users import SignInRefused, SsoProfile
from edgewatch.api.deps import SessionDep, SettingsDep
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.audit import service as audit
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from edgewatch.models import User
from edgewatch.observability.metrics import LOGINS

router = APIRouter(route_class=ApiRoute, prefix="/auth", tags=["authentication"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NextParam = Annotated[
    str, Query(max_length=2000, description="Where to go after signing in (a path on this site).")
]


def safe_next(value: str | None) -> str:
    """A local path to redirect to; anything else (another site, ``//host``) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def _client(request: Request) -> tuple[str | None, str | None]:
    host = request.client.host if request.client else None
    return host, request.headers.get("user-agent")


def _same_origin(request: Request, settings: Settings) -> bool:
    """False for a browser post from another site (login CSRF); non-browser clients send none."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    allowed = {f"{request.url.scheme}://{request.url.netloc}"}
    if settings.public_url:
        allowed.add(settings.public_url.rstrip("/"))
    return origin.rstrip("/") in allowed


def _start_session(
    session: Session, user: User, *, request: Request, method: str, settings: Settings
) -> tuple[str, MeOut]:
    now = utcnow()
    ip_address, user_agent = _client(request)
    row, token = sessions.start(
        session,
        user,
        method=method,
        settings=settings,
        now=now,
        ip_address=ip_address,
        user_agent=user_agent,
        previous_token=request.cookies.get(sessions.SESSION_COOKIE),
    )
    audit.append(
        session,
        actor=user.pseudonym,
        action="auth.login",
        subject_type="user",
        subject_id=user.pseudonym,
        details={"method": method, "session_id": row.id},
    )
    LOGINS.labels(method=method).inc()
    me = MeOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        scopes=sorted(scopes_of_role(user.role)),
        authenticated_by="session",
        csrf_token=sessions.csrf_token_for(row.token_hash, settings=settings),
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
    return token, me


def _password_sign_in(request: Request, body: LoginBody) -> tuple[str, MeOut]:
    settings: Settings = request.app.state.settings
    factory: sessionmaker[Session] = request.app.state.session_factory
    failure: NotAuthenticated | None = None
    with session_scope(factory) as session:
        try:
            user = users.sign_in_with_password(session, email=body.email, password=body.password)
        except NotAuthenticated as exc:
            failure = exc  # keep the audit entry of the failed attempt: commit, then raise
        else:
            return _start_session(
                session, user, request=request, method="password", settings=settings
            )
    raise failure


def _login_page(
    request: Request, *, next_path: str, error: str | None = None, status: int = 200
) -> HTMLResponse:
    providers = oidc.configured_providers(request.app.state.settings).values()
    return templates.TemplateResponse(
        request,
        "login.html",
        {"next": next_path, "error": error, "providers": list(providers)},
        status_code=status,
    )


@router.get("/login", summary="Sign-in page (HTML)", response_class=HTMLResponse)
def login_page(request: Request, next: NextParam = "/") -> HTMLResponse:
    return _login_page(request, next_path=safe_next(next))


@router.post(
    "/login",
    summary="Sign in with email and password",
    response_model=MeOut,
    responses={
        303: {"description": "Form sign-in: redirect to `next`, with the session cookie."},
        **problem_responses(401, 403, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": LoginBody.model_json_schema()},
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["email", "password"],
                        "properties": {
                            "email": {"type": "string", "maxLength": 320},
                            "password": {"type": "string", "maxLength": 1024},
                            "next": {"type": "string", "maxLength": 2000},
                        },
                    }
                },
            },
        }
    },
)
async def login(request: Request) -> Response:
    """Check the password, start a new session (revoking the browser's previous one) and set the
    ``edgewatch_session`` and ``edgewatch_csrf`` cookies."""
    settings: Settings = request.app.state.settings
    if not _same_origin(request, settings):
        raise PermissionDenied("Sign-in from another site is refused.")
    is_form = request.headers.get("content-type", "").startswith(FORM_TYPES)
    next_path = "/"
    try:
        if is_form:
            form = await request.form()
            next_path = safe_next(str(form.get("next") or "/"))
            fields: Any = {key: form.get(key) for key in ("email", "password")}
        else:
            fields = json.loads(await request.body() or b"null")
        body = LoginBody.model_validate(fields)
    except (ValueError, ValidationError):
        if is_form:
            return _login_page(
                request, next_path=next_path, error="Enter your email and password.", status=422
            )
        raise InvalidInput("send a JSON object with email and password") from None
    try:
        token, me = await run_in_threadpool(_password_sign_in, request, body)
    except NotAuthenticated as exc:
        if is_form:
            return _login_page(request, next_path=next_path, error=exc.message, status=401)
        raise
    response: Response
    if is_form:
        response = RedirectResponse(next_path, status_code=303)
    else:
        response = JSONResponse(me.model_dump(mode="json"))
    sessions.set_cookies(response, token, settings=settings)
    return response


@router.post(
    "/logout",
    summary="Sign out: revoke this browser session",
    status_code=204,
    responses={
        303: {"description": "Form sign-out: redirect to the sign-in page."},
        **problem_responses(401, 403, 409),
    },
)
def logout(
    request: Request, principal: CurrentUserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """Revoke the session making the request and clear its cookies. Needs the CSRF token."""
    if principal.session_id is None:
        raise Conflict("this request is authenticated by an API key; revoke the key instead")
    token = request.cookies.get(sessions.SESSION_COOKIE, "")
    sessions.revoke_token(session, token, now=utcnow())
    audit.append(
        session,
        actor=principal.actor,
        action="auth.logout",
        subject_type="user",
        subject_id=principal.actor,
        details={"session_id": principal.session_id},
    )
    is_form = request.headers.get("content-type", "").startswith(FORM_TYPES)
    response: Response = (
        RedirectResponse("/auth/login", status_code=303) if is_form else Response(status_code=204)
    )
    sessions.clear_cookies(response, settings=settings)
    return response


def _callback_url(request: Request, settings: Settings, provider: str) -> str:
    path = f"/auth/sso/{provider}/callback"
    if settings.public_url:
        return settings.public_url.rstrip("/") + path
    return str(request.url_for("sso_callback", provider=provider))


@router.get(
    "/sso/{provider}",
    summary="Sign in with a configured SSO provider (redirects to it)",
    response_class=RedirectResponse,
    status_code=302,
    responses=problem_responses(401, 404),
)
async def sso_begin(request: Request, provider: str, next: NextParam = "/") -> Response:
    settings: Settings = request.app.state.settings
    spec = oidc.provider_named(request, provider)
    request.session["next"] = safe_next(next)
    return await oidc.begin(request, spec, redirect_uri=_callback_url(request, settings, provider))


def _sso_sign_in(request: Request, profile: SsoProfile) -> tuple[str, MeOut]:
    settings: Settings = request.app.state.settings
    factory: sessionmaker[Session] = request.app.state.session_factory
    failure: SignInRefused | None = None
    with session_scope(factory) as session:
        try:
            user = users.sign_in_with_sso(session, profile, settings=settings, now=utcnow())
        except SignInRefused as exc:
            failure = exc  # keep the audit entry of the failed attempt: commit, then raise
            audit.append(
                session,
                actor="anonymous",
                action="auth.login_failed",
                subject_type="user",
                subject_id="unknown",
                details={"method": f"sso:{profile.provider}", "reason": exc.reason},
            )
        else:
            return _start_session(
                session, user, request=request, method=f"sso:{profile.provider}", settings=settings
            )
    raise failure


@router.get(
    "/sso/{provider}/callback",
    name="sso_callback",
    summary="Where the SSO provider sends the browser back",
    response_class=RedirectResponse,
    status_code=303,
    responses=problem_responses(401, 404),
)
async def sso_callback(request: Request, provider: str) -> Response:
    """Check the provider's answer, find or create the user, start a session, go to ``next``."""
    spec = oidc.provider_named(request, provider)
    next_path = safe_next(request.session.pop("next", "/"))
    try:
        profile = await oidc.finish(request, spec)
        token, _ = await run_in_threadpool(_sso_sign_in, request, profile)
    except NotAuthenticated as exc:
        return _login_page(request, next_path=next_path, error=exc.message, status=401)
    response = RedirectResponse(next_path, status_code=303)
    sessions.set_cookies(response, token, settings=request.app.state.settings)
    return response
