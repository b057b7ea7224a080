"""A page of ticks or candles as ``TickSeries`` JSON, formatted by PostgreSQL when it is there.

An uncached chart read is a page of up to thousands of rows, and turning rows into Python objects
and back into JSON was most of its cost. On PostgreSQL the rows never become Python objects: the
database builds each row's JSON object and the page's array (``json_build_object``,
``json_agg``), numbers the rows to tell whether another page follows, and the API passes the text
through. On SQLite the rows are read and written by ``pydantic_core.to_json``. Both write the
same values the ``TickSeries`` model declares: times as UTC ISO 8601 with ``Z``, prices as JSON
numbers, missing values as ``null`` (``tests/api/test_api_candles.py`` holds each backend's
pages to the model). Only the spelling of a number may differ (PostgreSQL writes ``3637`` where
Python writes ``3637.0``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy import ColumnElement, Select, Text, bindparam, case, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from edgewatch.db.types import UTCDateTime


@dataclass(frozen=True, slots=True)
class SeriesPage:
    #: The page's rows as a JSON array.
    items: bytes
    #: How many rows the page holds.
    rows: int
    #: The time of the page's last row when another page follows, else None.
    more_after: datetime | None


#: ``ticks_query`` or ``candles_query``: called with values or with ``bindparam``s.
PageQuery = Callable[..., Select[Any]]


def read_page(
    session: Session, query: PageQuery, *, limit: int, descending: bool, **values: Any
) -> SeriesPage:
    """One page of ``query`` over ``values`` (``market_id``, filters; None filters left out)."""
    given = {name: value for name, value in values.items() if value is not None}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sql, constants = _postgres_page_sql(connection.dialect, query, frozenset(given), descending)
        text, fetched, last_time = connection.exec_driver_sql(
            sql, {**constants, **given, "fetch": limit + 1, "limit": limit}
        ).one()
        return SeriesPage(
            items=text.encode(),
            rows=min(fetched, limit),
            more_after=last_time.astimezone(UTC) if fetched > limit else None,
        )
    rows = list(connection.execute(query(limit=limit + 1, descending=descending, **given)).all())
    page = rows[:limit]
    columns = tuple(rows[0]._fields) if rows else ()
    return SeriesPage(
        items=to_json([dict(zip(columns, row, strict=True)) for row in page]),
        rows=len(page),
        more_after=page[-1][0] if len(rows) > limit else None,
    )


@lru_cache(maxsize=128)
def _postgres_page_sql(
    dialect: Dialect, query: PageQuery, names: frozenset[str], descending: bool
) -> tuple[str, dict[str, Any]]:
    """The SQL text of a page, compiled once per shape (which filters, which order).

    Building and compiling this statement costs more than running it, so each shape is compiled
    once, with its values as named parameters, and run as driver SQL; ``constants`` are the
    values the compiler bound itself (field names, formats).
    """
    fetched = query(
        limit=bindparam("fetch"),
        descending=descending,
        **{name: bindparam(name) for name in names},
    ).subquery("fetched")
    time = next(iter(fetched.c))
    position = func.row_number().over(order_by=time.desc() if descending else time.asc())
    numbered = select(*fetched.c, position.label("position")).subquery("numbered")
    fields: list[ColumnElement[Any]] = []
    for column in numbered.c:
        if column.name != "position":
            fields += [cast(literal(column.name), Text), _json_value(column)]
    in_page = numbered.c.position <= bindparam("limit")
    items = func.json_agg(aggregate_order_by(func.json_build_object(*fields), numbered.c.position))
    compiled = select(
        cast(func.coalesce(items.filter(in_page), func.json_build_array()), Text),
        func.count(),
        func.max(numbered.c[time.name]).filter(numbered.c.position == bindparam("limit")),
    ).compile(dialect=dialect)
    constants = {name: value for name, value in compiled.params.items() if value is not None}
    return str(compiled), constants


def _json_value(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column as its JSON value; times as pydantic writes them (``…:SS[.ffffff]Z``, UTC)."""
    if not isinstance(column.type, UTCDateTime):
        return column
    utc = column.op("AT TIME ZONE")(literal("UTC"))
    microseconds = func.to_char(utc, "US", type_=Text)
    fraction = case((microseconds == "000000", literal("")), else_=func.concat(".", microseconds))
    return func.concat(func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS', type_=Text), fraction, "Z")
