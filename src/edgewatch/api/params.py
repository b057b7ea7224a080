"""Shared query and path parameter rules, so every route bounds its input the same way.

Values the database would refuse (ids beyond BIGINT, NUL characters, times that overflow when
converted to UTC) are 422 problems here instead of 500s deep in a query.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator

from edgewatch.api.problems import invalid_query
from edgewatch.clock import as_utc

#: The largest id an INTEGER primary key can hold (every Edgewatch table's ``id``); a larger
#: one would be a database error, not a 404.
MAX_ID = 2**31 - 1
_BARE_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
#: No NUL: PostgreSQL text cannot contain it and psycopg refuses to send it. Use it on every
#: free-text field of a request body too (``Field(pattern=NO_NUL)``).
NO_NUL = r"^[^\x00]*$"


def text_filter(*, max_length: int, description: str) -> Any:
    """A free-text filter parameter: bounded length, no NUL characters."""
    return Query(min_length=1, max_length=max_length, pattern=NO_NUL, description=description)


def _iso_8601_only(value: object) -> object:
    # Pydantic would read a bare number as seconds since 1970; the documented format is ISO 8601,
    # and "to=0.5" is far likelier a mistake than a time in January 1970.
    if isinstance(value, int | float) or (isinstance(value, str) and _BARE_NUMBER.fullmatch(value)):
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value


#: A time given as ISO 8601 text (naive means UTC), never as a bare number.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]


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
