"""API keys: created by a user for themselves, shown once, stored as a hash.

A key reads ``ew_<8 characters>_<43 characters>``. The first part (``ew_…``) is the ``prefix``:
stored in clear and unique, it finds the row and lets a user tell keys apart. The whole key is
stored only as its SHA-256 — a 256-bit random secret needs no slow hash, and lookups stay fast.
A key's scopes must be within its owner's role when it is made; afterwards the effective scopes
are re-intersected with the owner's current role on every request (``principal.py``).
``last_used_at`` is written at most once a minute per key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edgewatch.accounts.scopes import SCOPES, scopes_of_role
from edgewatch.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from edgewatch.models import ApiKey, User
from edgewatch.observability.metrics import AUTH_FAILURES

KEY_TAG = "ew_"
PREFIX_LENGTH = len(KEY_TAG) + 8
MAX_KEYS_PER_USER = 100
TOUCH_EVERY = timedelta(seconds=60)
_ALPHABET = string.ascii_lowercase + string.digits


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_prefix() -> str:
    return KEY_TAG + "".join(secrets.choice(_ALPHABET) for _ in range(PREFIX_LENGTH - len(KEY_TAG)))


def validate_scopes(
    requested: Iterable[str], *, role: str, ceiling: frozenset[str] | None = None
) -> list[str]:
    """The requested scopes, de-duplicated and sorted; refused when unknown, beyond ``role`` or
    beyond ``ceiling`` (the scopes of the key making the request)."""
    wanted = set(requested)
    if not wanted:
        raise InvalidInput("an API key needs at least one scope")
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"unknown scope(s) {', '.join(unknown)} (known: {', '.join(sorted(SCOPES))})"
        )
    beyond = sorted(wanted - scopes_of_role(role))
    if beyond:
        raise PermissionDenied(
            f"a {role} cannot give a key the scope(s) {', '.join(beyond)}; "
            f"allowed: {', '.join(sorted(scopes_of_role(role)))}"
        )
    if ceiling is not None and not wanted <= ceiling:
        raise PermissionDenied(
            f"a key cannot make a key wider than itself: {', '.join(sorted(wanted - ceiling))} "
            "is beyond the scopes of the key used"
        )
    return sorted(wanted)


def create(
    session: Session,
    user: User,
    *,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
    now: datetime,
    ceiling: frozenset[str] | None = None,
) -> tuple[ApiKey, str]:
    """Make a key for ``user``; returns the row and the key itself, which is never stored."""
    clean_name = name.strip()
    if not 1 <= len(clean_name) <= 100:
        raise InvalidInput("a key name must be 1 to 100 characters")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at must be in the future")
    granted = validate_scopes(scopes, role=user.role, ceiling=ceiling)
    count = session.scalar(select(func.count()).where(ApiKey.user_id == user.id)) or 0
    if count >= MAX_KEYS_PER_USER:
        raise Conflict(f"you already have {MAX_KEYS_PER_USER} keys; delete unused ones first")
    prefix = _new_prefix()
    while session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        prefix = _new_prefix()
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        user_id=user.id,
        name=clean_name,
        prefix=prefix,
        key_hash=key_hash(secret),
        scopes=granted,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, secret


def _refuse(reason: str, message: str) -> NotAuthenticated:
    AUTH_FAILURES.labels(reason=reason).inc()
    return NotAuthenticated(message)


def authenticate(session: Session, presented: str, *, now: datetime) -> tuple[ApiKey, User]:
    """The key and its owner, or ``NotAuthenticated`` saying whether it is unknown, expired,
    revoked or its owner disabled (the key's holder is its owner, so this leaks nothing)."""
    prefix = presented[:PREFIX_LENGTH]
    row = None
    if presented.startswith(KEY_TAG) and presented[PREFIX_LENGTH : PREFIX_LENGTH + 1] == "_":
        row = session.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.prefix == prefix)
        ).first()
    if row is None or not hmac.compare_digest(row[0].key_hash, key_hash(presented)):
        raise _refuse("invalid_api_key", "Invalid API key.")
    key, user = row._tuple()
    if key.revoked_at is not None:
        raise _refuse("revoked_api_key", "This API key was revoked.")
    if key.expires_at is not None and key.expires_at <= now:
        raise _refuse("expired_api_key", "This API key has expired.")
    if not user.is_active:
        raise _refuse("disabled_user", "The owner of this API key is disabled.")
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        key.last_used_at = now
    return key, user


def list_for(session: Session, user_id: int) -> list[ApiKey]:
    return list(
        session.scalars(select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id))
    )


def owned(session: Session, user_id: int, key_id: int) -> ApiKey:
    """The user's own key; someone else's key is ``NotFound``, exactly like a missing one."""
    key = session.get(ApiKey, key_id)
    if key is None or key.user_id != user_id:
        raise NotFound(f"no API key {key_id}")
    return key


def revoke(session: Session, user_id: int, key_id: int, *, now: datetime) -> ApiKey:
    """Revoke one of the user's keys; revoking twice keeps the first time."""
    key = owned(session, user_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = now
    return key
