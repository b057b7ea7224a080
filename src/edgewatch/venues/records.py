"""Normalised records beyond ``base.py``, and the toolkit parsers use to build them.

``base.py`` holds the records every venue must produce (markets, ticks); this module adds the ones
the real venues also deliver (events, series, trades, candles, order books, book updates,
price points, tick-size changes, resolutions) and the two things every parser shares:

- field readers that turn wire values into checked Python values, raising ``InvalidPayload`` with
  a short machine reason (``missing_field``, ``wrong_type``, ``not_finite``, ``out_of_range``,
  ``bad_time``, ``unknown_enum``, ...);
- ``Batch``, which collects the records of one payload and quarantines each bad one as a
  ``RejectedRecord`` (counted in ``edgewatch_venue_records_rejected_total{venue,reason}``) so that
  one corrupt record never takes the rest of the payload down with it.

Prices are probabilities of YES in [0, 1]; sizes are contracts; times are UTC-aware.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from edgewatch.errors import InvalidPayload
from edgewatch.observability.metrics import RECORDS_REJECTED
from edgewatch.venues.base import MarketRecord, RejectedRecord, TickRecord

T = TypeVar("T")
BookSide = Literal["bid", "ask", "yes", "no"]
#: Longest ``RejectedRecord.reason`` we produce (the quarantine column holds 200 characters).
MAX_REASON_LENGTH = 200
MAX_MAGNITUDE = Decimal(10) ** 15


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    """A Kalshi series: the template its events share, including the fee terms."""

    venue: str
    series_id: str
    title: str
    category: str | None
    fee_type: str | None
    fee_multiplier: Decimal | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    venue: str
    event_id: str
    title: str
    category: str | None = None
    series_id: str | None = None
    status: Literal["open", "closed"] | None = None


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One public trade. ``price`` is the YES price; ``taker_side`` is the venue's own word."""

    venue: str
    venue_market_id: str
    ts: datetime
    price: float
    size: float
    trade_id: str | None = None
    taker_side: str | None = None


@dataclass(frozen=True, slots=True)
class CandleRecord:
    """One period of a market. Trade prices are ``None`` for a period without trades."""

    venue: str
    venue_market_id: str
    end: datetime
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    bid_close: float | None
    ask_close: float | None
    volume: float | None
    open_interest: float | None = None


@dataclass(frozen=True, slots=True)
class OrderBookRecord:
    """A full book in YES terms: ``bids`` best (highest) first, ``asks`` best (lowest) first."""

    venue: str
    venue_market_id: str
    ts: datetime
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class BookUpdateRecord:
    """One price level changed.

    Kalshi sends a signed change of the resting size on a bid side (``yes`` or ``no``;
    ``absolute`` false); Polymarket sends the new total size at a ``bid`` or ``ask`` level
    (``absolute`` true, size 0 removes the level).
    """

    venue: str
    venue_market_id: str
    ts: datetime
    side: BookSide
    price: float
    size: float
    absolute: bool
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class PricePointRecord:
    """A single price that is neither a bid, an ask nor a trade (a midpoint, a history point)."""

    venue: str
    venue_market_id: str
    ts: datetime
    price: float
    source: str


@dataclass(frozen=True, slots=True)
class TickSizeRecord:
    venue: str
    venue_market_id: str
    ts: datetime
    tick_size: float


@dataclass(frozen=True, slots=True)
class ResolutionRecord:
    """The venue announced the outcome; it may not be read before ``resolved_at``."""

    venue: str
    venue_market_id: str
    resolution: Literal["yes", "no", "void"]
    resolved_at: datetime


@dataclass(frozen=True, slots=True)
class ExchangeStatusRecord:
    """Whether the venue is up and trading, as the venue itself reports it."""

    venue: str
    ts: datetime
    exchange_active: bool
    trading_active: bool


Record = (
    MarketRecord
    | TickRecord
    | SeriesRecord
    | EventRecord
    | TradeRecord
    | CandleRecord
    | OrderBookRecord
    | BookUpdateRecord
    | PricePointRecord
    | TickSizeRecord
    | ResolutionRecord
    | ExchangeStatusRecord
)


@dataclass(slots=True)
class ParseResult:
    """Everything one payload produced: good records in payload order, and the rejected ones."""

    records: list[Record] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)
    #: The venue's cursor for the next page, when the payload was one page of a list.
    cursor: str | None = None

    def of_type(self, kind: type[T]) -> list[T]:
        return [record for record in self.records if isinstance(record, kind)]


# Failures a parser can hit on hostile input besides its own checks; they all mean "malformed".
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, IndexError)


class Batch:
    """Collects one payload's records; ``attempt`` quarantines a record that fails to parse."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.result = ParseResult()

    def add(self, record: Record) -> None:
        self.result.records.append(record)

    def reject(self, kind: str, reason: str, raw: object, detail: str | None = None) -> None:
        text = reason if not detail or detail == reason else f"{reason}: {detail}"
        self.result.rejected.append(
            RejectedRecord(
                venue=self.venue,
                kind=kind,
                reason=text[:MAX_REASON_LENGTH],
                payload=raw_text(raw),
            )
        )
        RECORDS_REJECTED.labels(venue=self.venue, reason=reason).inc()

    def attempt(self, kind: str, raw: object, parse: Callable[[Any], T]) -> T | None:
        """``parse(raw)``, or ``None`` after quarantining ``raw`` if it raises."""
        try:
            return parse(raw)
        except InvalidPayload as exc:
            self.reject(kind, exc.reason, raw, exc.message)
        except RecursionError:
            self.reject(kind, "malformed", raw, "payload nested too deeply")
        except _MALFORMED as exc:
            self.reject(kind, "malformed", raw, f"{type(exc).__name__}: {exc}")
        return None


def raw_text(raw: object) -> str:
    """The raw record as JSON text for the quarantine table (never raises)."""
    if isinstance(raw, str):
        return raw
    try:
        return json.dumps(raw, default=str, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return repr(raw)


# --- field readers -------------------------------------------------------------------------------


def as_mapping(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidPayload("wrong_type", f"{name} is not an object: {type(value).__name__}")
    return value


def as_list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidPayload("wrong_type", f"{name} is not a list: {type(value).__name__}")
    return value


def required(raw: Mapping[str, Any], key: str) -> Any:
    value = raw.get(key)
    if value is None:
        raise InvalidPayload("missing_field", f"{key} is missing")
    return value


def required_str(raw: Mapping[str, Any], key: str) -> str:
    value = required(raw, key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidPayload("wrong_type", f"{key} is not a string: {value!r}")
    text = str(value).strip()
    if not text:
        raise InvalidPayload("missing_field", f"{key} is empty")
    return text


def optional_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidPayload("wrong_type", f"{key} is not a string: {value!r}")
    return str(value)


def optional_bool(raw: Mapping[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidPayload("wrong_type", f"{key} is not a boolean: {value!r}")
    return value


def decimal_value(value: object, name: str) -> Decimal:
    """A finite number from a JSON number or a numeric string (fixed-point venue fields)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidPayload("wrong_type", f"{name} is not a number: {value!r}")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(str(value))
    except InvalidOperation:
        raise InvalidPayload("wrong_type", f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise InvalidPayload("not_finite", f"{name} is not finite: {value!r}")
    # Nothing a venue sends us (prices, contract counts, epoch milliseconds) comes near this;
    # beyond it a float would lose the value or become infinite.
    if abs(number) > MAX_MAGNITUDE:
        raise InvalidPayload("out_of_range", f"{name} {value!r} is implausibly large")
    return number


def probability(value: object, name: str) -> float:
    number = decimal_value(value, name)
    if not Decimal(0) <= number <= Decimal(1):
        raise InvalidPayload("out_of_range", f"{name} {value!r} is outside [0, 1]")
    return float(number)


def optional_probability(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    return None if value is None or value == "" else probability(value, key)


def size_value(value: object, name: str) -> float:
    number = decimal_value(value, name)
    if number < 0:
        raise InvalidPayload("negative_size", f"{name} {value!r} is negative")
    return float(number)


def optional_size(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    return None if value is None or value == "" else size_value(value, key)


def int_value(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPayload("wrong_type", f"{name} is not an integer: {value!r}")
    return value


def epoch_time(value: object, name: str, *, milliseconds: bool = False) -> datetime:
    """UTC time from epoch seconds (or milliseconds), given as a JSON number or a digit string."""
    number = decimal_value(value, name)
    seconds = number / 1000 if milliseconds else number
    try:
        return datetime.fromtimestamp(float(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidPayload("bad_time", f"{name} {value!r} is not a usable time") from None


def iso_time(value: object, name: str) -> datetime:
    """UTC time from ISO 8601 text (``Z`` or an offset; naive means UTC)."""
    if not isinstance(value, str):
        raise InvalidPayload("wrong_type", f"{name} is not a time string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidPayload("bad_time", f"{name} {value!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def any_time(value: object, name: str, *, milliseconds: bool = False) -> datetime:
    """ISO text, or epoch seconds (milliseconds) as a number or digit string."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return iso_time(value, name)
    return epoch_time(value, name, milliseconds=milliseconds)


def optional_time(raw: Mapping[str, Any], key: str) -> datetime | None:
    value = raw.get(key)
    return None if value is None or value == "" else any_time(value, key)


def json_in_json(value: object, name: str) -> list[Any]:
    """A list that a venue may send either as JSON or as a JSON string inside JSON."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidPayload("wrong_type", f"{name} is not JSON: {value!r}") from None
    return as_list(value, name)
