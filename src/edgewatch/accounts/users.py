"""Users: creation, sign-in by password, role changes, disabling, SSO provisioning.

Every change is audited under the acting user's pseudonym (``actor``), and the audit details
never hold an email or a name — see ``privacy.py`` for why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edgewatch.accounts import passwords, sessions
from edgewatch.audit import service as audit
from edgewatch.config import Settings
from edgewatch.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from edgewatch.models import User, UserIdentity
from edgewatch.models.account import ROLES
from edgewatch.observability.metrics import AUTH_FAILURES

#: Deliberately loose: one ``@``, no spaces, a dot in the domain. Providers verify the rest.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SIGN_IN_REFUSED = "Wrong email or password."


class SignInRefused(NotAuthenticated):
    """A sign-in was refused; ``reason`` is the stable code audited and counted."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        AUTH_FAILURES.labels(reason=reason).inc()


def normalise_email(email: str) -> str:
    clean = email.strip().lower()
    if len(clean) > 320 or not _EMAIL.fullmatch(clean):
        raise InvalidInput(f"not an email address: {email!r}")
    return clean


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r} (use one of: {', '.join(ROLES)})")
    return role


def by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == normalise_email(email))).first()


def get(session: Session, email: str) -> User:
    user = by_email(session, email)
    if user is None:
        raise NotFound(f"no user with email {normalise_email(email)}")
    return user


def list_users(session: Session, *, limit: int, after_id: int | None = None) -> list[User]:
    """Users in id order, a page at a time (the admin's user list)."""
    stmt = select(User).order_by(User.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(User.id > after_id)
    return list(session.scalars(stmt))


def create(
    session: Session,
    *,
    email: str,
    role: str,
    actor: str,
    password: str | None = None,
    display_name: str | None = None,
    now: datetime,
) -> User:
    """Create an active user; ``Conflict`` if the email is taken."""
    address = normalise_email(email)
    check_role(role)
    if by_email(session, address) is not None:
        raise Conflict(f"a user with email {address} already exists")
    user = User(
        email=address,
        role=role,
        display_name=(display_name or "").strip()[:200] or None,
        password_hash=passwords.hash_password(password) if password is not None else None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.create",
        subject_type="user",
        subject_id=user.pseudonym,
        details={"role": role},
    )
    return user


def sign_in_with_password(session: Session, *, email: str, password: str) -> User:
    """The user if the password matches an active account; ``NotAuthenticated`` (one message for
    every reason, so it does not reveal which emails exist) and an audit entry otherwise."""
    try:
        user = by_email(session, email)
    except InvalidInput:
        user = None
    matches = passwords.verify(user.password_hash if user else None, password)
    if user is None or not matches or not user.is_active:
        reason = "unknown_user" if user is None else ("bad_password" if not matches else "disabled")
        audit.append(
            session,
            actor=user.pseudonym if user else "anonymous",
            action="auth.login_failed",
            subject_type="user",
            subject_id=user.pseudonym if user else "unknown",
            details={"method": "password", "reason": reason},
        )
        raise SignInRefused(SIGN_IN_REFUSED, reason=reason)
    assert user.password_hash is not None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def set_password(
    session: Session,
    user: User,
    *,
    password: str,
    actor: str,
    now: datetime,
    keep_session_id: int | None = None,
) -> None:
    """Replace the password and end the user's sessions (they may have been stolen), except
    ``keep_session_id`` — the session making the change."""
    user.password_hash = passwords.hash_password(password)
    sessions.revoke_all(session, user.id, now=now, keep_session_id=keep_session_id)
    audit.append(
        session,
        actor=actor,
        action="user.password_set",
        subject_type="user",
        subject_id=user.pseudonym,
    )


def set_role(session: Session, user: User, *, role: str, actor: str) -> None:
    """Change the role; the user's keys shrink or grow with it on their next request."""
    check_role(role)
    if role == user.role:
        return
    if user.role == "admin" and role != "admin":
        keep_an_admin(session, user)
    previous, user.role = user.role, role
    audit.append(
        session,
        actor=actor,
        action="user.role_change",
        subject_type="user",
        subject_id=user.pseudonym,
        details={"from": previous, "to": role},
    )


def set_active(session: Session, user: User, *, active: bool, actor: str, now: datetime) -> None:
    """Disable (ending every session; keys stop working) or re-enable a user."""
    if user.is_active == active:
        return
    if not active and user.role == "admin":
        keep_an_admin(session, user)
    user.is_active = active
    if not active:
        sessions.revoke_all(session, user.id, now=now)
    audit.append(
        session,
        actor=actor,
        action="user.enable" if active else "user.disable",
        subject_type="user",
        subject_id=user.pseudonym,
    )


def keep_an_admin(session: Session, leaving: User) -> None:
    others = session.scalar(
        select(func.count()).where(
            User.role == "admin", User.is_active.is_(True), User.id != leaving.id
        )
    )
    if not others:
        raise Conflict("that would leave no active admin; make someone else admin first")


@dataclass(frozen=True, slots=True)
class SsoProfile:
    """What a provider told us about the person signing in."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def sign_in_with_sso(
    session: Session, profile: SsoProfile, *, settings: Settings, now: datetime
) -> User:
    """The user linked to this provider account, linking or creating one on first sign-in.

    A first sign-in links to an existing user only when the provider vouches for the email
    (``email_verified``); otherwise it creates a viewer — or an admin when the email is in
    ``EDGEWATCH_ADMIN_EMAILS``. ``NotAuthenticated`` for a disabled user or a provider that gave no
    email.
    """
    identity = session.scalars(
        select(UserIdentity).where(
            UserIdentity.provider == profile.provider, UserIdentity.subject == profile.subject
        )
    ).first()
    user = session.get(User, identity.user_id) if identity else None
    if user is None:
        if not profile.email:
            raise SignInRefused(
                f"{profile.provider} did not share an email address", reason="sso_no_email"
            )
        address = normalise_email(profile.email)
        user = by_email(session, address)
        if user is not None and not profile.email_verified:
            raise SignInRefused(
                f"{address} has an account here, and {profile.provider} has not verified that "
                "email; sign in another way",
                reason="sso_unverified_email",
            )
        if user is None:
            admins = {normalise_email(item) for item in settings.admin_emails}
            user = create(
                session,
                email=address,
                role="admin" if address in admins else "viewer",
                actor=f"sso:{profile.provider}",
                display_name=profile.name,
                now=now,
            )
        identity = UserIdentity(
            user_id=user.id, provider=profile.provider, subject=profile.subject, created_at=now
        )
        session.add(identity)
    if not user.is_active:
        raise SignInRefused("This account is disabled.", reason="disabled")
    assert identity is not None
    identity.last_login_at = now
    if profile.name and not user.display_name:
        user.display_name = profile.name[:200]
    session.flush()
    return user
