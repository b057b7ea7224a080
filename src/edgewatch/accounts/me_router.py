"""``/api/v1/me``: the caller's own account — profile, API keys, sessions, consent, password,
data export and erasure. Every route acts on the caller only: there is no user id in the paths,
and a key or session id of someone else answers 404, like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.responses import Response

from edgewatch.accounts import api_keys, passwords, privacy, sessions, users
from edgewatch.accounts.principal import CurrentUserDep, Principal
from edgewatch.accounts.schemas import (
    ConsentBody,
    ConsentOut,
    KeyCreate,
    KeyCreated,
    KeyOut,
    MeOut,
    PasswordChange,
    SessionOut,
)
from edgewatch.api import API_V1_PREFIX
from edgewatch.api.deps import SessionDep, SettingsDep
from edgewatch.api.params import MAX_ID
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.audit import service as audit
from edgewatch.clock import utcnow
from edgewatch.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from edgewatch.models import User, UserConsent, UserSession

router = APIRouter(route_class=ApiRoute, prefix=f"{API_V1_PREFIX}/me", tags=["account"])

KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="API key id.")]
SessionId = Annotated[int, Path(ge=1, le=MAX_ID, description="Session id.")]


def _user(session: SessionDep, principal: Principal) -> User:
    user = session.get(User, principal.owner_id)
    if user is None or not user.is_active:  # erased or disabled since the credential was checked
        raise NotAuthenticated("This account no longer exists.")
    return user


@router.get(
    "", summary="Who am I: profile, role, effective scopes", responses=problem_responses(401)
)
def me(principal: CurrentUserDep, session: SessionDep) -> MeOut:
    user = _user(session, principal)
    assert principal.via != "anonymous"
    return MeOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        scopes=sorted(principal.scopes),
        authenticated_by=principal.via,
        csrf_token=principal.csrf_token,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@router.put(
    "/password",
    summary="Set or change your password (ends your other sessions)",
    status_code=204,
    responses=problem_responses(401, 403, 422),
)
def change_password(
    principal: CurrentUserDep, session: SessionDep, body: PasswordChange
) -> Response:
    """Only from a signed-in session: an API key must not be able to turn itself into a browser
    sign-in (for an SSO user without a password, it would otherwise set one)."""
    if principal.via != "session":
        raise PermissionDenied("change your password from a signed-in session, not with an API key")
    user = _user(session, principal)
    if user.password_hash is not None and not passwords.verify(
        user.password_hash, body.current_password or ""
    ):
        raise InvalidInput("current_password is wrong")
    users.set_password(
        session,
        user,
        password=body.new_password,
        actor=principal.actor,
        now=utcnow(),
        keep_session_id=principal.session_id,
    )
    return Response(status_code=204)


@router.get(
    "/keys", summary="Your API keys (never the keys themselves)", responses=problem_responses(401)
)
def list_keys(principal: CurrentUserDep, session: SessionDep) -> list[KeyOut]:
    return [KeyOut.model_validate(key) for key in api_keys.list_for(session, principal.owner_id)]


@router.post(
    "/keys",
    summary="Create an API key for yourself (the key is shown once)",
    status_code=201,
    responses=problem_responses(401, 403, 409, 422),
)
def create_key(principal: CurrentUserDep, session: SessionDep, body: KeyCreate) -> KeyCreated:
    """Scopes must be within your role — and, when the request itself uses an API key, within
    that key's scopes, so a key cannot mint a wider one. ``key`` is shown only in this answer."""
    user = _user(session, principal)
    key, secret = api_keys.create(
        session,
        user,
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
        now=utcnow(),
        ceiling=principal.scopes if principal.via == "api_key" else None,
    )
    audit.append(
        session,
        actor=principal.actor,
        action="api_key.create",
        subject_type="api_key",
        subject_id=key.id,
        details={"scopes": key.scopes, "expires_at": key.expires_at},
    )
    return KeyCreated.model_validate({**KeyOut.model_validate(key).model_dump(), "key": secret})


@router.delete(
    "/keys/{key_id}",
    summary="Revoke one of your API keys",
    status_code=204,
    responses=problem_responses(401, 404, 422),
)
def revoke_key(principal: CurrentUserDep, session: SessionDep, key_id: KeyId) -> Response:
    key = api_keys.revoke(session, principal.owner_id, key_id, now=utcnow())
    audit.append(
        session,
        actor=principal.actor,
        action="api_key.revoke",
        subject_type="api_key",
        subject_id=key.id,
    )
    return Response(status_code=204)


@router.get(
    "/sessions", summary="Your browser sessions, newest first", responses=problem_responses(401)
)
def list_sessions(
    principal: CurrentUserDep, session: SessionDep, settings: SettingsDep
) -> list[SessionOut]:
    now = utcnow()
    return [
        SessionOut(
            id=row.id,
            method=row.method,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            active=sessions.is_live(row, settings=settings, now=now),
            current=row.id == principal.session_id,
            ip_address=row.ip_address,
            user_agent=row.user_agent,
        )
        for row in sessions.list_for(session, principal.owner_id)
    ]


@router.delete(
    "/sessions/{session_id}",
    summary="Sign out one of your sessions (another browser, or this one)",
    status_code=204,
    responses=problem_responses(401, 404, 422),
)
def revoke_session(
    principal: CurrentUserDep, session: SessionDep, session_id: SessionId
) -> Response:
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != principal.owner_id:
        raise NotFound(f"no session {session_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(
            session,
            actor=principal.actor,
            action="session.revoke",
            subject_type="session",
            subject_id=row.id,
        )
    return Response(status_code=204)


def _consent(session: SessionDep, user_id: int) -> UserConsent | None:
    return session.scalars(
        select(UserConsent).where(
            UserConsent.user_id == user_id, UserConsent.purpose == "analytics"
        )
    ).first()


@router.get(
    "/consent", summary="Your consent to optional tracking", responses=problem_responses(401)
)
def get_consent(principal: CurrentUserDep, session: SessionDep) -> ConsentOut:
    row = _consent(session, principal.owner_id)
    return ConsentOut(
        analytics=bool(row and row.granted), decided_at=row.decided_at if row else None
    )


@router.put(
    "/consent",
    summary="Grant or withdraw consent to optional tracking",
    responses=problem_responses(401, 403, 422),
)
def put_consent(principal: CurrentUserDep, session: SessionDep, body: ConsentBody) -> ConsentOut:
    now = utcnow()
    row = _consent(session, principal.owner_id)
    if row is None:
        row = UserConsent(user_id=principal.owner_id, purpose="analytics", granted=body.analytics)
        session.add(row)
    if row.granted != body.analytics or row.id is None:
        audit.append(
            session,
            actor=principal.actor,
            action="consent.update",
            subject_type="user",
            subject_id=principal.actor,
            details={"purpose": "analytics", "granted": body.analytics},
        )
    row.granted, row.decided_at = body.analytics, now
    session.flush()
    return ConsentOut(analytics=row.granted, decided_at=row.decided_at)


@router.get(
    "/export",
    summary="Download everything stored about you (JSON)",
    responses=problem_responses(401),
)
def export(principal: CurrentUserDep, session: SessionDep) -> JSONResponse:
    """GDPR access and portability: profile, keys (metadata only), sessions, SSO identities,
    consent, link reviews and every audit entry about you."""
    document: dict[str, Any] = privacy.export(session, _user(session, principal), now=utcnow())
    return JSONResponse(
        document,
        headers={"Content-Disposition": 'attachment; filename="edgewatch-export.json"'},
    )


@router.delete(
    "",
    summary="Erase your account and personal data",
    status_code=204,
    responses=problem_responses(401, 403, 409),
)
def erase(principal: CurrentUserDep, session: SessionDep, settings: SettingsDep) -> Response:
    """GDPR erasure: personal data is removed, keys and sessions deleted; audit entries stay under
    your pseudonym. The last active admin cannot erase themselves (409)."""
    privacy.erase(session, _user(session, principal), now=utcnow())
    response = Response(status_code=204)
    sessions.clear_cookies(response, settings=settings)
    return response
