"""GDPR access (export) and erasure for one user.

How erasure and the tamper-evident audit log fit together: audit entries never name a person.
From the first entry on, a user appears in the log only as ``users.pseudonym`` (``user:`` and 16
random hex digits, not derived from anything about them), and details hold roles, scopes, key ids
and reasons — never an email, name, IP address or user agent. Erasure can therefore leave every
audit entry, and so every hash in the chain, untouched: once the personal columns of the user row
are cleared, the pseudonym points at a row that says nothing about anyone, and
``edgewatch audit verify`` still passes. Link reviews (``market_links.reviewed_by``) use the same
pseudonym, for the same reason.

Personal data lives in ``users`` (email, display name), ``user_sessions`` (IP address, user
agent) and ``user_identities`` (provider subject); erasure blanks the first and deletes the rows of
the others, with API keys and consent records. The user row stays, disabled, so ids elsewhere
(audit subjects, paper accounts) keep resolving.

Other capabilities add what they store about a user to the export with ``export_section``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from edgewatch.accounts import sessions, users
from edgewatch.audit import service as audit
from edgewatch.models import (
    ApiKey,
    AuditEntry,
    MarketLink,
    User,
    UserConsent,
    UserIdentity,
    UserSession,
)

ERASED_EMAIL_DOMAIN = "erased.invalid"

ExportSection = Callable[[Session, User], Any]
_SECTIONS: dict[str, ExportSection] = {}


def export_section(name: str) -> Callable[[ExportSection], ExportSection]:
    """Register ``fn(session, user) -> JSON-able`` as the export's ``name`` section."""

    def register(fn: ExportSection) -> ExportSection:
        _SECTIONS[name] = fn
        return fn

    return register


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(session: Session, user: User, *, now: datetime) -> dict[str, Any]:
    """Everything Edgewatch stores about ``user``, as one JSON-able document (never a key hash or a
    password hash). The export itself is audited."""
    audit.append(
        session,
        actor=user.pseudonym,
        action="user.export",
        subject_type="user",
        subject_id=user.pseudonym,
    )
    document: dict[str, Any] = {
        "exported_at": now.isoformat(),
        "profile": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "is_active": user.is_active,
            "has_password": user.password_hash is not None,
            "created_at": _time(user.created_at),
            "last_login_at": _time(user.last_login_at),
            "pseudonym": user.pseudonym,
        },
        "api_keys": [
            {
                "id": key.id,
                "name": key.name,
                "prefix": key.prefix,
                "scopes": key.scopes,
                "created_at": _time(key.created_at),
                "expires_at": _time(key.expires_at),
                "revoked_at": _time(key.revoked_at),
                "last_used_at": _time(key.last_used_at),
            }
            for key in session.scalars(select(ApiKey).where(ApiKey.user_id == user.id))
        ],
        "sessions": [
            {
                "id": row.id,
                "method": row.method,
                "created_at": _time(row.created_at),
                "last_seen_at": _time(row.last_seen_at),
                "expires_at": _time(row.expires_at),
                "revoked_at": _time(row.revoked_at),
                "ip_address": row.ip_address,
                "user_agent": row.user_agent,
            }
            for row in sessions.list_for(session, user.id)
        ],
        "sso_identities": [
            {
                "provider": row.provider,
                "subject": row.subject,
                "created_at": _time(row.created_at),
                "last_login_at": _time(row.last_login_at),
            }
            for row in session.scalars(select(UserIdentity).where(UserIdentity.user_id == user.id))
        ],
        "consent": [
            {"purpose": row.purpose, "granted": row.granted, "decided_at": _time(row.decided_at)}
            for row in session.scalars(select(UserConsent).where(UserConsent.user_id == user.id))
        ],
        "link_reviews": [
            {"link_id": link.id, "status": link.status, "reviewed_at": _time(link.reviewed_at)}
            for link in session.scalars(
                select(MarketLink).where(MarketLink.reviewed_by == user.pseudonym)
            )
        ],
        "audit_entries": [
            {
                "id": entry.id,
                "created_at": _time(entry.created_at),
                "actor": entry.actor,
                "action": entry.action,
                "subject_type": entry.subject_type,
                "subject_id": entry.subject_id,
                "details": entry.details,
            }
            for entry in session.scalars(
                select(AuditEntry)
                .where(
                    or_(AuditEntry.actor == user.pseudonym, AuditEntry.subject_id == user.pseudonym)
                )
                .order_by(AuditEntry.id)
            )
        ],
    }
    for name, section in _SECTIONS.items():
        document[name] = section(session, user)
    return document


def erase(session: Session, user: User, *, now: datetime) -> None:
    """Remove the user's personal data (see the module docstring); ``Conflict`` if they are the last
    active admin. Audit entries stay, naming the user only by pseudonym."""
    if user.role == "admin":
        users.keep_an_admin(session, user)
    for table in (UserSession, ApiKey, UserIdentity, UserConsent):
        session.execute(delete(table).where(table.user_id == user.id))
    user.email = f"erased-{user.id}@{ERASED_EMAIL_DOMAIN}"
    user.display_name = None
    user.password_hash = None
    user.last_login_at = None
    user.is_active = False
    user.erased_at = now
    audit.append(
        session,
        actor=user.pseudonym,
        action="user.erase",
        subject_type="user",
        subject_id=user.pseudonym,
    )
