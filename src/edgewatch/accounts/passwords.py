"""Password hashing with Argon2id (argon2-cffi's recommended parameters).

``verify`` runs a full hash even for an unknown user (against a fixed dummy hash), so the answer
time does not reveal whether an email has an account.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from edgewatch.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1024

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Hash a new password; ``InvalidInput`` if it is shorter than 12 or longer than 1024."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"a password must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; ``None`` (no password set) never matches."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash used older parameters; re-hash on the next successful sign-in."""
    return _hasher.check_needs_rehash(password_hash)


def one_time_password() -> str:
    """A random password to print once (``users create``, ``demo``); 16 URL-safe characters."""
    return secrets.token_urlsafe(12)
