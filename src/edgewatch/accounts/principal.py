"""Who is calling: ``Principal``, resolved once per request from an API key, a session cookie or
nothing, and the dependencies routes use to get it.

Routes that need the caller take ``CurrentUserDep`` (a signed-in user; anonymous callers get a
401) or ``PrincipalDep`` (anyone the access table let through). Object-level checks compare
``principal.user_id`` with the owner of the row — paper accounts, keys, sessions — and answer 404
for someone else's object, so ids of other users' objects are not even confirmed to exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.accounts import api_keys, sessions
from edgewatch.accounts.key_cache import KEYS
from edgewatch.accounts.scopes import PUBLIC_READ_SCOPES, scopes_of_role
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.errors import NotAuthenticated

ANONYMOUS_ACTOR = "anonymous"

Via = Literal["api_key", "session", "anonymous"]
_VIA_WORDS: dict[Via, str] = {"api_key": "API key", "session": "session", "anonymous": "request"}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request.

    ``actor`` is what the audit log records: the user's pseudonym, never their email.
    ``scopes`` are effective: for an API key, its scopes intersected with the owner's current role.
    """

    user_id: int | None
    role: str | None
    scopes: frozenset[str]
    actor: str
    via: Via
    api_key_id: int | None = None
    session_id: int | None = None
    csrf_token: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    @property
    def owner_id(self) -> int:
        """The user's id, for ownership checks; ``NotAuthenticated`` for an anonymous caller."""
        if self.user_id is None:
            raise NotAuthenticated("Authentication required: send an API key or sign in.")
        return self.user_id

    @property
    def credential(self) -> str:
        """The credential in words, for error messages (``API key``, ``session``)."""
        return _VIA_WORDS[self.via]


def anonymous(settings: Settings) -> Principal:
    scopes = PUBLIC_READ_SCOPES if settings.public_read else frozenset()
    return Principal(user_id=None, role=None, scopes=scopes, actor=ANONYMOUS_ACTOR, via="anonymous")


def presented_api_key(request: Request) -> str | None:
    """The key from ``X-API-Key`` or ``Authorization: Bearer``; other schemes are not ours."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def remembered_principal(request: Request) -> Principal | None:
    """The principal of the request's API key if it was authenticated moments ago (no database,
    no thread: see ``key_cache``); None means ``resolve_principal`` must decide."""
    key = presented_api_key(request)
    if key is None:
        return None
    return KEYS.get(api_keys.key_hash(key), now=utcnow())


def resolve_principal(request: Request) -> Principal:
    """Authenticate the request (blocking: run it in a thread). Raises ``NotAuthenticated`` for a
    key that is wrong, expired or revoked; a stale session cookie just counts as no credentials.
    """
    settings: Settings = request.app.state.settings
    factory: sessionmaker[Session] = request.app.state.session_factory
    now = utcnow()
    key = presented_api_key(request)
    if key is not None:
        generation = KEYS.generation
        with session_scope(factory) as session:
            api_key, user = api_keys.authenticate(session, key, now=now)
        principal = Principal(
            user_id=user.id,
            role=user.role,
            scopes=frozenset(api_key.scopes) & scopes_of_role(user.role),
            actor=user.pseudonym,
            via="api_key",
            api_key_id=api_key.id,
        )
        KEYS.remember(
            api_keys.key_hash(key),
            principal,
            key_expires_at=api_key.expires_at,
            generation=generation,
        )
        return principal
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    if not cookie:
        return anonymous(settings)
    with session_scope(factory) as session:
        found = sessions.authenticate(session, cookie, settings=settings, now=now)
        if found is None:
            return anonymous(settings)
        user_session, user = found
        return Principal(
            user_id=user.id,
            role=user.role,
            scopes=scopes_of_role(user.role),
            actor=user.pseudonym,
            via="session",
            session_id=user_session.id,
            csrf_token=sessions.csrf_token_for(user_session.token_hash, settings=settings),
        )


def get_principal(request: Request) -> Principal:
    """The principal ``authorize`` resolved; on a public route, whoever the credentials name."""
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal):
        return principal
    principal = resolve_principal(request)
    request.state.principal = principal
    return principal


def get_current_user(request: Request) -> Principal:
    principal = get_principal(request)
    if principal.is_anonymous:
        raise NotAuthenticated("Authentication required: send an API key or sign in.")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
CurrentUserDep = Annotated[Principal, Depends(get_current_user)]
