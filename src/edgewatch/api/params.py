"""Shared query and path parameter rules, so every route bounds its input the same way.

Values the database would refuse (ids beyond BIGINT, NUL characters, times that overflow when
converted to UTC) are 422 problems here instead of 500s deep in a query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Query

from edgewatch.api.problems import invalid_query
from edgewatch.clock import as_utc

#: The largest id a BIGINT primary key can hold.
MAX_ID = 2**63 - 1
# No NUL: PostgreSQL text cannot contain it and psycopg refuses to send it.
_PRINTABLE = r"^[^\x00]*$"


def text_filter(*, max_length: int, description: str) -> Any:
    """A free-text filter parameter: bounded length, no NUL characters."""
    return Query(min_length=1, max_length=max_length, pattern=_PRINTABLE, description=description)


def id_query(description: str) -> Any:
    return Query(ge=1, le=MAX_ID, description=description)


def utc_param(value: datetime | None, *, name: str) -> datetime | None:
    """A time parameter in UTC (naive means UTC); 422 when it cannot be expressed in UTC."""
    if value is None:
        return None
    try:
        return as_utc(value)
    except OverflowError:
        raise invalid_query(name, "time is out of range") from None


def ordered_window(
    start: datetime | None, end: datetime | None, *, start_name: str, end_name: str
) -> None:
    if start is not None and end is not None and start > end:
        raise invalid_query(start_name, f"'{start_name}' must not be later than '{end_name}'")
