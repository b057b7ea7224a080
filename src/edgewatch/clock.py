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
    raw = text.strip() if isinstance(text, str) else text
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except (OverflowError, OSError):
        raise InvalidInput(f"time out of range: {text!r}") from None
    except ValueError:
        pass
    try:
        return as_utc(datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
    except OverflowError:
        # e.g. 0001-01-01T00:00:00+14:00, which is before the first representable UTC time
        raise InvalidInput(f"time out of range: {text!r}") from None
    except ValueError:
        raise InvalidInput(f"not an ISO 8601 time or epoch seconds: {text!r}") from None
