"""Dataset directories (format: docs/data-format.md): files, columns, reading and validation.

A dataset is ``markets.csv``, ``ticks.csv`` or ``ticks.parquet``, and an optional ``links.csv``.
``importer`` loads one into the database and ``exporter`` writes one; both share what is here:
the file and column names, the bounded tick reader and the vectorised tick validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from edgewatch.errors import InvalidInput
from edgewatch.venues.base import FeeSchedule

MARKETS_FILE = "markets.csv"
LINKS_FILE = "links.csv"
TICKS_CSV = "ticks.csv"
TICKS_PARQUET = "ticks.parquet"

MARKET_COLUMNS = (
    "venue",
    "market_id",
    "title",
    "close_time",
    "status",
    "resolution",
    "resolved_at",
    "fee_multiplier",
    "fee_rate",
)
TICK_COLUMNS = ("venue", "market_id", "ts", "bid", "ask", "last", "volume", "bid_size", "ask_size")
LINK_COLUMNS = ("venue_a", "market_a", "venue_b", "market_b", "relation", "status", "confidence")
REQUIRED_MARKET = MARKET_COLUMNS[:7]
REQUIRED_TICK = TICK_COLUMNS[:7]
REQUIRED_LINK = LINK_COLUMNS[:6]
PRICES = ("bid", "ask", "last")
SIZES = ("volume", "bid_size", "ask_size")

DEFAULT_BATCH_ROWS = 100_000
#: Rejected rows kept with their payload per import; the rest are only counted.
MAX_QUARANTINED = 1_000
#: Column widths of ``markets`` (see models/market.py); longer values would abort the batch.
MAX_LENGTH = {"venue": 32, "market_id": 200, "title": 500}
_ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z")
_EPOCH_PATTERN = r"^[+-]?\d+(\.\d+)?$"
EXPORT_TIME = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset directory whose files exist and whose tick file has been counted."""

    directory: Path
    ticks_path: Path
    tick_rows: int

    @property
    def links_path(self) -> Path | None:
        path = self.directory / LINKS_FILE
        return path if path.exists() else None


def fee_schedule_for(venue: str) -> FeeSchedule | None:
    """The fee model a venue name implies: ``kalshi*``/``sim_kalshi`` and the Polymarket twins."""
    name = venue.lower()
    if name.startswith("kalshi") or name == "sim_kalshi":
        return "kalshi"
    if name.startswith("polymarket") or name == "sim_polymarket":
        return "polymarket"
    return None


# --- reading -------------------------------------------------------------------------------------


def open_dataset(directory: Path) -> Dataset:
    """Check that ``directory`` holds a dataset and count its tick rows.

    Raises ``InvalidInput`` with one line naming the problem (a missing ``markets.csv``, no tick
    file or two of them, a file that cannot be read or lacks required columns).
    """
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory")
    if not (directory / MARKETS_FILE).is_file():
        raise InvalidInput(f"no {MARKETS_FILE} in {directory}")
    candidates = [directory / name for name in (TICKS_CSV, TICKS_PARQUET)]
    present = [path for path in candidates if path.exists()]
    if len(present) != 1:
        found = "both" if present else "neither"
        raise InvalidInput(f"{directory} must hold one of {TICKS_CSV} or {TICKS_PARQUET}, {found}")
    ticks_path = present[0]
    markets_path = directory / MARKETS_FILE
    _require_columns(markets_path, pl.scan_csv(markets_path, infer_schema=False), REQUIRED_MARKET)
    if (directory / LINKS_FILE).exists():
        links_path = directory / LINKS_FILE
        _require_columns(links_path, pl.scan_csv(links_path, infer_schema=False), REQUIRED_LINK)
    _require_columns(ticks_path, _scan_ticks(ticks_path), REQUIRED_TICK)
    tick_rows = _readable(ticks_path, lambda: _scan_ticks(ticks_path).select(pl.len()).collect())
    return Dataset(directory=directory, ticks_path=ticks_path, tick_rows=int(tick_rows.item()))


def _readable(path: Path, read: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    try:
        return read()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InvalidInput(f"cannot read {path}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _scan_ticks(path: Path) -> pl.LazyFrame:
    if path.suffix == ".parquet":
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False)


def _require_columns(path: Path, frame: pl.LazyFrame, required: tuple[str, ...]) -> None:
    names = _readable(path, lambda: frame.head(0).collect()).columns
    missing = [name for name in required if name not in names]
    if missing:
        raise InvalidInput(f"{path} lacks required columns: {', '.join(missing)}")


def read_small_csv(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...]
) -> pl.DataFrame:
    frame = _readable(path, lambda: pl.read_csv(path, infer_schema=False))
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise InvalidInput(f"{path} lacks required columns: {', '.join(missing)}")
    absent = [pl.lit(None, pl.String).alias(name) for name in optional if name not in frame.columns]
    return frame.with_columns(absent).select(*required, *optional)


def iter_tick_batches(path: Path, batch_rows: int) -> Iterator[pl.DataFrame]:
    try:
        if path.suffix == ".parquet":
            lazy = pl.scan_parquet(path)
            total = lazy.select(pl.len()).collect().item()
            for offset in range(0, total, batch_rows):
                yield lazy.slice(offset, batch_rows).collect()
        else:
            yield from pl.scan_csv(path, infer_schema=False).collect_batches(chunk_size=batch_rows)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InvalidInput(f"cannot read {path}: {_first_line(exc)}") from None


# --- vectorised parsing and validation -----------------------------------------------------------


#: The span of times Python's ``datetime`` holds in any zone, with a day to spare at each end.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def parse_time(column: str, dtype: pl.DataType) -> pl.Expr:
    """``column`` as UTC microseconds; null where it is not ISO 8601 with offset or epoch seconds.

    Naive ISO times are refused (null): a guessed zone would silently shift every tick. So are
    times Python cannot hold (``0001-01-01T00:00+14:00`` is in year 0 in UTC), which polars
    parses but could not hand over.
    """
    textual = (pl.String, pl.Categorical, pl.Enum, pl.Null, pl.Date)
    if not (isinstance(dtype, pl.Datetime) or dtype.is_numeric() or isinstance(dtype, textual)):
        raise InvalidInput(f"column {column} holds {dtype}, not times (text, epoch or datetime)")
    parsed = _parse_time(pl.col(column), dtype)
    return pl.when(parsed.is_between(EARLIEST, LATEST)).then(parsed)


def _parse_time(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return pl.lit(None, pl.Datetime("us", "UTC"))
        return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if dtype.is_numeric():
        return _from_epoch(col.cast(pl.Float64))
    raw = col.cast(pl.String).str.strip_chars()
    iso = raw.str.replace(r"[Zz]$", "+00:00").str.replace(r"^(\d{4}-\d{2}-\d{2})[ t]", "${1}T")
    parsed = [
        iso.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
        for fmt in _ISO_FORMATS
    ]
    return (
        pl.when(raw.str.contains(_EPOCH_PATTERN))
        .then(_from_epoch(raw.cast(pl.Float64, strict=False)))
        .otherwise(pl.coalesce(parsed))
    )


def _from_epoch(seconds: pl.Expr) -> pl.Expr:
    micros = (seconds * 1_000_000).round().cast(pl.Int64, strict=False)
    return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")


def _number(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        text = pl.col(column).str.strip_chars()
        return pl.when(text == "").then(None).otherwise(text).cast(pl.Float64, strict=False)
    return pl.col(column).cast(pl.Float64, strict=False)


def _present(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return pl.col(column).str.strip_chars().fill_null("") != ""
    return pl.col(column).is_not_null()


def _text(column: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars()


def validate_ticks(raw: pl.DataFrame) -> pl.DataFrame:
    """Parse a raw tick batch into typed columns plus ``reason`` (null for a good row).

    Reasons, first match wins: ``missing_field``, ``bad_time``, ``wrong_type``, ``not_finite``,
    ``out_of_range``, ``empty_quote``, ``crossed_quote``, ``negative_size``.
    """
    schema = raw.schema
    raw = raw.with_columns(
        pl.lit(None, pl.String).alias(name) for name in TICK_COLUMNS if name not in schema
    )
    schema = raw.schema
    numbers = [*PRICES, *SIZES]
    typed = raw.select(
        _text("venue", schema["venue"]).alias("venue"),
        _text("market_id", schema["market_id"]).alias("venue_market_id"),
        parse_time("ts", schema["ts"]).alias("tick_ts"),
        *(_number(name, schema[name]).alias(name) for name in numbers),
        pl.any_horizontal(
            _present(name, schema[name]) & _number(name, schema[name]).is_null() for name in numbers
        ).alias("_wrong_type"),
    )
    prices = [pl.col(name) for name in PRICES]
    not_finite = pl.any_horizontal(p.is_nan() | p.is_infinite() for p in prices).fill_null(False)
    out_of_range = pl.any_horizontal((p < 0) | (p > 1) for p in prices).fill_null(False)
    sizes = [pl.col(name) for name in SIZES]
    bad_size = pl.any_horizontal(s.is_nan() | s.is_infinite() | (s < 0) for s in sizes).fill_null(
        False
    )
    missing = (pl.col("venue").fill_null("") == "") | (
        pl.col("venue_market_id").fill_null("") == ""
    )
    reason = (
        pl.when(missing)
        .then(pl.lit("missing_field"))
        .when(pl.col("tick_ts").is_null())
        .then(pl.lit("bad_time"))
        .when(pl.col("_wrong_type"))
        .then(pl.lit("wrong_type"))
        .when(not_finite)
        .then(pl.lit("not_finite"))
        .when(out_of_range)
        .then(pl.lit("out_of_range"))
        .when(pl.all_horizontal(p.is_null() for p in prices))
        .then(pl.lit("empty_quote"))
        .when((pl.col("bid") > pl.col("ask")).fill_null(False))
        .then(pl.lit("crossed_quote"))
        .when(bad_size)
        .then(pl.lit("negative_size"))
        .otherwise(pl.lit(None, pl.String))
    )
    return typed.with_columns(reason.alias("reason")).drop("_wrong_type")
