"""Server-side browser sessions.

The cookie holds a random 256-bit token; the table stores only its SHA-256, so a copy of the
database cannot be replayed as cookies. A session ends when it is revoked (sign-out, erasure,
``DELETE /api/v1/me/sessions/{id}``, the user disabled), after ``EDGEWATCH_SESSION_IDLE_MINUTES``
without a request, or ``EDGEWATCH_SESSION_MAX_HOURS`` after sign-in whatever the activity. Every
sign-in issues a new token and revokes the one the browser had (no session fixation).

Cookies: ``edgewatch_session`` is ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` unless
``EDGEWATCH_COOKIE_SECURE`` says otherwise (default: off only in the development environment, so
``edgewatch demo`` works over plain http). ``edgewatch_csrf`` carries the session's CSRF token for
scripts to echo in ``X-CSRF-Token``; it is derived from the session (``csrf_token_for``), so it
needs no storage and dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from starlette.responses import Response

from edgewatch.config import Settings
from edgewatch.models import User, UserSession
from edgewatch.observability.metrics import AUTH_FAILURES

SESSION_COOKIE = "edgewatch_session"
CSRF_COOKIE = "edgewatch_csrf"
#: ``last_seen_at`` is written at most this often per session: the idle timeout is in minutes, so
#: finer bookkeeping would only add a write to every request.
TOUCH_EVERY = timedelta(seconds=60)
USER_AGENT_MAX = 300
#: Ended sessions (and the IP address and user agent they hold) are deleted this long after.
KEEP_ENDED = timedelta(days=30)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(session_token_hash: str, *, settings: Settings) -> str:
    """The session's CSRF token: an HMAC of its token hash under the secret key."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"csrf:{session_token_hash}".encode(), hashlib.sha256).hexdigest()


def cookie_secure(settings: Settings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return settings.environment != "development"


def start(
    session: Session,
    user: User,
    *,
    method: str,
    settings: Settings,
    now: datetime,
    ip_address: str | None,
    user_agent: str | None,
    previous_token: str | None = None,
) -> tuple[UserSession, str]:
    """Open a session for ``user`` and return it with its token (to set as the cookie).

    The browser's previous session, if any, is revoked: the id is rotated on every sign-in.
    """
    if previous_token:
        revoke_token(session, previous_token, now=now)
    purge_ended(session, now=now)
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash(token),
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
        ip_address=ip_address,
        user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
    )
    session.add(row)
    user.last_login_at = now
    session.flush()
    return row, token


def authenticate(
    session: Session, token: str, *, settings: Settings, now: datetime
) -> tuple[UserSession, User] | None:
    """The live session for a cookie token and its user, or ``None`` (unknown, ended, disabled).

    Touches ``last_seen_at`` (at most once a minute) so activity keeps the session alive.
    """
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        AUTH_FAILURES.labels(reason="unknown_session").inc()
        return None
    user_session, user = row._tuple()
    idle_limit = user_session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if user_session.revoked_at is not None:
        reason = "revoked_session"
    elif now >= user_session.expires_at or now >= idle_limit:
        reason = "expired_session"
    elif not user.is_active:
        reason = "disabled_user"
    else:
        if now - user_session.last_seen_at >= TOUCH_EVERY:
            user_session.last_seen_at = now
        return user_session, user
    AUTH_FAILURES.labels(reason=reason).inc()
    return None


def is_live(user_session: UserSession, *, settings: Settings, now: datetime) -> bool:
    idle_limit = user_session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    return user_session.revoked_at is None and now < min(user_session.expires_at, idle_limit)


def revoke_token(session: Session, token: str, *, now: datetime) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == token_hash(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def purge_ended(session: Session, *, now: datetime) -> int:
    """Delete sessions that ended over ``KEEP_ENDED`` ago (run at each sign-in, so the table
    stays small without a job); returns how many."""
    cutoff = now - KEEP_ENDED
    result = session.execute(
        delete(UserSession).where(
            or_(UserSession.revoked_at < cutoff, UserSession.expires_at < cutoff)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_all(
    session: Session, user_id: int, *, now: datetime, keep_session_id: int | None = None
) -> None:
    """End every session of a user (disabled, erased, password changed), but ``keep_session_id``."""
    stmt = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep_session_id is not None:
        stmt = stmt.where(UserSession.id != keep_session_id)
    session.execute(stmt.values(revoked_at=now))


def list_for(session: Session, user_id: int) -> list[UserSession]:
    return list(
        session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id)
            .order_by(UserSession.id.desc())
        )
    )


def set_cookies(response: Response, token: str, *, settings: Settings) -> None:
    secure = cookie_secure(settings)
    max_age = int(settings.session_max_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token_for(token_hash(token), settings=settings),
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="lax",
        path="/",
    )


def clear_cookies(response: Response, *, settings: Settings) -> None:
    secure = cookie_secure(settings)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name, path="/", secure=secure, httponly=name == SESSION_COOKIE, samesite="lax"
        )
