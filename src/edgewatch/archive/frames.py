"""Rows as columnar frames: Parquet encoding, table conversion and content checksums.

The content checksum is what proves an archive holds exactly the rows that were deleted: it is
computed from the rows themselves (sorted by key, times as integer microseconds, floats in their
shortest round-trip form), so it is the same for the rows read from the database, the rows read
back from Parquet and the rows restored later — whatever the file encoding.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import polars as pl
from sqlalchemy import JSON, Boolean, Float, Integer, Numeric, String, Table, Text
from sqlalchemy.engine import Row

from edgewatch.db.types import UTCDateTime
from edgewatch.errors import InvalidInput

UTC_MICROS = pl.Datetime("us", "UTC")
PARQUET_COMPRESSION: Literal["zstd"] = "zstd"
# zstd level 6: ticks compress ~8-10x; higher levels cost much more CPU for a few per cent.
PARQUET_LEVEL = 6


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(
        buffer, compression=PARQUET_COMPRESSION, compression_level=PARQUET_LEVEL, statistics=True
    )
    return buffer.getvalue()


def from_parquet(data: bytes, *, name: str) -> pl.DataFrame:
    try:
        return pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several error types for a damaged file
        raise InvalidInput(f"{name} is not readable Parquet: {exc}") from exc


def content_checksum(frame: pl.DataFrame, keys: Sequence[str]) -> str:
    """SHA-256 of the rows in ``frame``, independent of row order and file encoding."""
    canonical = frame.sort(list(keys)).with_columns(
        pl.col(name).dt.epoch("us")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    )
    return sha256_hex(canonical.write_csv(include_header=True).encode())


def _polars_type(column_type: Any) -> pl.DataType:
    if isinstance(column_type, UTCDateTime):
        return UTC_MICROS
    if isinstance(column_type, Boolean):
        return pl.Boolean()
    if isinstance(column_type, Integer):
        return pl.Int64()
    if isinstance(column_type, Float):
        return pl.Float64()
    # Exact decimals and JSON documents travel as text: no precision or key order is lost.
    if isinstance(column_type, Numeric | JSON | String | Text):
        return pl.String()
    raise TypeError(f"no archive type for {column_type!r}")


def table_schema(table: Table) -> dict[str, pl.DataType]:
    return {column.name: _polars_type(column.type) for column in table.columns}


def _encode(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, Decimal):
        return str(value)
    return value


def table_frame(table: Table, rows: Sequence[Row[Any]]) -> pl.DataFrame:
    """Rows selected from ``table`` (all columns, in table order) as a typed frame."""
    schema = table_schema(table)
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    data = [
        tuple(
            json.dumps(v, sort_keys=True, separators=(",", ":"))
            if name in json_columns and v is not None
            else _encode(v)
            for name, v in zip(schema, row, strict=True)
        )
        for row in rows
    ]
    return pl.DataFrame(data, schema=schema, orient="row")


def frame_records(table: Table, frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The inverse of ``table_frame``: dicts ready for an ``INSERT`` into ``table``."""
    decoders: dict[str, Any] = {}
    for column in table.columns:
        if isinstance(column.type, JSON):
            decoders[column.name] = json.loads
        elif isinstance(column.type, Numeric) and not isinstance(column.type, Float):
            decoders[column.name] = Decimal
    records = frame.select([c.name for c in table.columns]).to_dicts()
    for record in records:
        for name, decode in decoders.items():
            if record[name] is not None:
                record[name] = decode(record[name])
    return records


def time_bounds(frame: pl.DataFrame, column: str) -> tuple[datetime | None, datetime | None]:
    if frame.is_empty():
        return None, None
    series = frame.get_column(column)
    first, last = series.min(), series.max()
    assert first is None or isinstance(first, datetime)
    assert last is None or isinstance(last, datetime)
    return first, last
