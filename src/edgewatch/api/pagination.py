"""Keyset pagination: the page envelope and opaque cursors.

A cursor is the sort key of the last item of a page, as URL-safe base64 of a JSON array. Clients
must treat it as opaque; a malformed cursor is a 422 on the ``cursor`` parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from edgewatch.api.params import MAX_ID
from edgewatch.api.problems import invalid_query
from edgewatch.clock import as_utc

T = TypeVar("T")

MAX_CURSOR_LENGTH = 512

CursorParam = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description="Opaque cursor from the previous page's `next_cursor`.",
    ),
]


class Page(BaseModel, Generic[T]):
    """One page of results; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(*parts: int | datetime) -> str:
    values = [part.isoformat() if isinstance(part, datetime) else part for part in parts]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid_query("cursor", "malformed cursor") from None
    if not isinstance(values, list):
        raise invalid_query("cursor", "malformed cursor")
    return values


def _as_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise invalid_query("cursor", "malformed cursor")
    return value


def _as_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise invalid_query("cursor", "malformed cursor")
    try:
        return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise invalid_query("cursor", "malformed cursor") from None


def decode_id_cursor(cursor: str | None) -> int | None:
    """The id a page ordered by id resumes after, or None for the first page."""
    if cursor is None:
        return None
    values = _decode(cursor)
    if len(values) != 1:
        raise invalid_query("cursor", "malformed cursor")
    return _as_int(values[0])


def decode_time_cursor(cursor: str | None) -> datetime | None:
    """The timestamp a page ordered by time resumes after, or None for the first page."""
    if cursor is None:
        return None
    values = _decode(cursor)
    if len(values) != 1:
        raise invalid_query("cursor", "malformed cursor")
    return _as_time(values[0])


def split_page(rows: list[T], limit: int) -> tuple[list[T], bool]:
    """Split rows fetched with ``limit + 1`` into the page and whether another page follows."""
    return rows[:limit], len(rows) > limit
