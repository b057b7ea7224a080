"""Query and form values for pages: blanks mean "no filter", bad values are one-line errors.

HTML forms send every field, empty or not, so a page parameter arrives as text and is parsed
here; ``InvalidInput`` becomes the dashboard's error page (see ``routing``), never a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime

from edgewatch.clock import as_utc
from edgewatch.errors import InvalidInput

#: Longest free-text filter accepted, matching the API's bounds.
MAX_TEXT = 200


def text(value: str | None, *, name: str, max_length: int = MAX_TEXT) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip()
    if len(cleaned) > max_length or "\x00" in cleaned:
        raise InvalidInput(f"{name}: at most {max_length} printable characters")
    return cleaned


def choice(value: str | None, *, name: str, allowed: Collection[str]) -> str | None:
    cleaned = text(value, name=name)
    if cleaned is not None and cleaned not in allowed:
        raise InvalidInput(f"{name}: {cleaned!r} is not one of {', '.join(sorted(allowed))}")
    return cleaned


def decimal_number(
    value: str | None, *, name: str, minimum: float | None = None, maximum: float | None = None
) -> float | None:
    cleaned = text(value, name=name, max_length=40)
    if cleaned is None:
        return None
    try:
        parsed = float(cleaned)
    except ValueError:
        raise InvalidInput(f"{name}: {cleaned!r} is not a number") from None
    if not math.isfinite(parsed):
        raise InvalidInput(f"{name}: must be a finite number")
    if minimum is not None and parsed < minimum:
        raise InvalidInput(f"{name}: must be at least {minimum:g}")
    if maximum is not None and parsed > maximum:
        raise InvalidInput(f"{name}: must be at most {maximum:g}")
    return parsed


def whole_number(
    value: str | None, *, name: str, minimum: int = 0, maximum: int = 2**63 - 1
) -> int | None:
    cleaned = text(value, name=name, max_length=20)
    if cleaned is None:
        return None
    try:
        parsed = int(cleaned)
    except ValueError:
        raise InvalidInput(f"{name}: {cleaned!r} is not a whole number") from None
    if not minimum <= parsed <= maximum:
        raise InvalidInput(f"{name}: must be between {minimum} and {maximum}")
    return parsed


def moment(value: str | None, *, name: str) -> datetime | None:
    """A time from a ``datetime-local`` field or ISO 8601; naive means UTC."""
    cleaned = text(value, name=name, max_length=40)
    if cleaned is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(cleaned.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{name}: {cleaned!r} is not a date and time (YYYY-MM-DDTHH:MM)"
        ) from None
