"""Users, how they authenticate (API keys, browser sessions, SSO identities) and their consent.

Personal data lives only in ``users`` (email, display name), ``user_sessions`` (IP address, user
agent) and ``user_identities`` (the provider's subject); everything else refers to a user by id, or
— in the audit log and review columns — by ``users.pseudonym``, a random handle that carries no
personal data. Erasure (``accounts/privacy.py``) therefore only has to clear those three tables.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.clock import utcnow
from edgewatch.models.base import Base

ROLES = ("admin", "analyst", "viewer")
CONSENT_PURPOSES = ("analytics",)


def new_pseudonym() -> str:
    """``user:`` and 16 random hex digits: fixed for the user's lifetime, unrelated to them."""
    return f"user:{secrets.token_hex(8)}"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    #: How the audit log and reviews name this user; never changes, survives erasure.
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True, default=new_pseudonym)
    #: Set when the user's personal data was erased; the row stays so references keep resolving.
    erased_at: Mapped[datetime | None]


class ApiKey(Base):
    """Only a hash of the key is stored; ``prefix`` lets a user recognise it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class UserSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``password`` or ``sso:<provider>``.
    method: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The absolute timeout: no activity extends a session past this.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class UserIdentity(Base):
    """An SSO account (provider + the provider's stable subject id) linked to a user."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class UserConsent(Base):
    """The user's current choice for one optional purpose (absent = never asked = not granted)."""

    __tablename__ = "user_consents"
    __table_args__ = (
        UniqueConstraint("user_id", "purpose"),
        CheckConstraint(f"purpose IN {CONSENT_PURPOSES!r}".replace(",)", ")"), name="purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
