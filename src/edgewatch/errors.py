"""The one error hierarchy of Edgewatch.

Errors are named for what the caller should do about them, and each carries the HTTP status the
API answers with, so one handler turns any of them into an RFC 9457 problem document::

    EdgewatchError                      500  a bug or an unclassified failure
    ├── ConfigError                     --   fix the configuration and restart
    ├── InvalidInput                    422  the request or file is wrong; fix it and retry
    │   └── InvalidPayload              422  a venue record is malformed; quarantine it
    ├── NotAuthenticated                401  send credentials (API key or session), or sign in
    ├── PermissionDenied                403  the credentials lack the scope or own not the object
    ├── NotFound                        404  the thing asked for does not exist
    ├── Conflict                        409  the request clashes with current state
    ├── FeeUnknown                      422  no fee schedule is known; fail closed, no signal
    ├── TemporaryError                  503  retry later
    │   ├── VenueUnavailable            503  the venue is down, rate-limited or its circuit is open
    │   ├── PipelineBusy                409  another run of that pipeline holds the lock
    │   └── NotificationFailed          503  an alert channel refused or did not answer
    └── DatabaseUnavailable             503  the database cannot be reached
"""

from __future__ import annotations


class EdgewatchError(Exception):
    """Base of every error Edgewatch raises on purpose."""

    status_code: int = 500
    #: Stable, documented identifier used as the problem ``type`` suffix.
    code: str = "internal-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(EdgewatchError):
    """The configuration is invalid: fix it and restart."""

    code = "config-error"


class InvalidInput(EdgewatchError):
    """A request, file or argument is malformed."""

    status_code = 422
    code = "invalid-input"


class InvalidPayload(InvalidInput):
    """A venue record failed validation; it is quarantined with ``reason``."""

    code = "invalid-payload"

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason


class NotAuthenticated(EdgewatchError):
    """No valid credentials: authenticate and retry."""

    status_code = 401
    code = "not-authenticated"
    headers = {"WWW-Authenticate": 'Bearer realm="edgewatch"'}


class PermissionDenied(EdgewatchError):
    """Authenticated, but not allowed: ask an admin for a wider role or key."""

    status_code = 403
    code = "permission-denied"


class NotFound(EdgewatchError):
    status_code = 404
    code = "not-found"


class Conflict(EdgewatchError):
    status_code = 409
    code = "conflict"


class FeeUnknown(EdgewatchError):
    """No fee schedule is known for a market: callers must not assume zero fees."""

    status_code = 422
    code = "fee-unknown"


class TemporaryError(EdgewatchError):
    """Retry later; nothing is wrong with the request itself."""

    status_code = 503
    code = "temporarily-unavailable"


class VenueUnavailable(TemporaryError):
    code = "venue-unavailable"


class PipelineBusy(TemporaryError):
    status_code = 409
    code = "pipeline-busy"


class NotificationFailed(TemporaryError):
    code = "notification-failed"


class DatabaseUnavailable(EdgewatchError):
    status_code = 503
    code = "database-unavailable"


def error_line(message: str) -> str:
    """How a command reports an error: one line, ``edgewatch: <message>``, whitespace folded."""
    return f"edgewatch: {' '.join(message.split())}"
