"""The venue interface and the normalised records every venue produces.

Records are venue-neutral: prices are probabilities of YES in [0, 1], times are UTC-aware, and the
venue's own ids are kept. A venue declares what it can do as data (``Capabilities``) rather than
through subclass hooks, so callers can ask before they try.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

MarketStatus = Literal["open", "closed", "pending_resolution", "resolved", "void"]
Resolution = Literal["yes", "no", "void"]
Relation = Literal["same", "complement"]
FeeSchedule = Literal["kalshi", "polymarket"]


@dataclass(frozen=True, slots=True)
class MarketRecord:
    venue: str
    venue_market_id: str
    title: str
    status: MarketStatus
    close_time: datetime | None
    event_id: str | None = None
    category: str | None = None
    rules: str | None = None
    resolution: Resolution | None = None
    resolved_at: datetime | None = None
    fee_schedule: FeeSchedule | None = None
    fee_multiplier: Decimal | None = None
    fee_rate: Decimal | None = None
    tick_size: float = 0.01


@dataclass(frozen=True, slots=True)
class TickRecord:
    venue: str
    venue_market_id: str
    ts: datetime
    bid: float | None
    ask: float | None
    last: float | None = None
    volume: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A venue's own statement that two markets are the same question (e.g. the simulator's)."""

    venue_a: str
    market_a: str
    venue_b: str
    market_b: str
    relation: Relation
    confidence: float = 1.0
    status: Literal["proposed", "confirmed"] = "confirmed"


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A record that failed validation, with its raw payload, for the quarantine table."""

    venue: str
    kind: str
    reason: str
    payload: str


@dataclass(slots=True)
class FetchResult:
    markets: list[MarketRecord] = field(default_factory=list)
    ticks: list[TickRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Capabilities:
    #: Can return every tick in a past window (simulator, replay), not just the current quote.
    history: bool = False
    streaming: bool = False
    order_book: bool = False
    trades: bool = False
    authenticated: bool = False


class Venue(Protocol):
    """A polling source of markets and quotes."""

    name: str
    capabilities: Capabilities

    def fetch(self, *, since: datetime | None, until: datetime) -> FetchResult:
        """Markets as of ``until`` and ticks in ``(since, until]``.

        Sources without ``history`` return their current quotes whatever the window.
        """
        ...
