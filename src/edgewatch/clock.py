"""Time in one place: every timestamp in Edgewatch is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from edgewatch.errors import InvalidInput


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(text: str | float | int) -> datetime:
    """Parse ISO 8601 (with offset, or ``Z``; naive means UTC) or UTC epoch seconds.

    Raises ``InvalidInput`` naming the value when it is neither.
    """
    if isinstance(text, int | float):
        return datetime.fromtimestamp(float(text), UTC)
    raw = text.strip()
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except ValueError:
        pass
    try:
        return as_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput(f"not an ISO 8601 time or epoch seconds: {text!r}") from None
