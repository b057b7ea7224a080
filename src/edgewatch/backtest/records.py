"""The records a backtest takes and returns: resolutions, configuration, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

import polars as pl

from edgewatch.backtest.fills import Fill, FillConfig, Rejection
from edgewatch.backtest.portfolio import Outcome, Settlement, Trade
from edgewatch.errors import InvalidInput
from edgewatch.strategies.base import ProposedSignal, Side


@dataclass(frozen=True, slots=True)
class Resolution:
    """How and when a market resolved; the engine alone reads these."""

    market_id: int
    resolution: Outcome
    resolved_at: datetime


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    starting_cash: Decimal = Decimal(10_000)
    #: Contracts per market, YES or NO.
    max_position: int = 100
    #: Decision cadence: how often the strategy is evaluated (and orders sent).
    step: timedelta = timedelta(minutes=1)
    #: Earlier ticks passed along with the new ones, for rolling features.
    lookback: timedelta = timedelta(hours=6)
    start: datetime | None = None
    end: datetime | None = None
    fills: FillConfig = field(default_factory=FillConfig)
    #: ``evaluation``: orders leave at the evaluation time (what live does). ``signal``: at the
    #: signal's own timestamp, which trusts the strategy not to use later ticks of the same step.
    order_time: Literal["evaluation", "signal"] = "evaluation"
    min_confidence: float = 0.0

    def __post_init__(self) -> None:
        if self.step <= timedelta(0):
            raise InvalidInput("step must be positive")
        if self.lookback < timedelta(0):
            raise InvalidInput("lookback must not be negative")
        if self.max_position <= 0:
            raise InvalidInput("max_position must be positive")

    def warnings(self) -> list[str]:
        found = self.fills.warnings()
        if self.order_time == "signal":
            found.append(
                "orders are timed at the signal timestamp: a strategy that reads ticks later in "
                "the same step would see the future"
            )
        return found


@dataclass(frozen=True, slots=True)
class ScoredSignal:
    """A signal with the probability it implied, the market's, and (afterwards) the outcome.

    ``probability`` is ``inputs["probability"]`` when the strategy gives one, else
    ``limit_price + edge``; both are for the signal's own side. ``outcome`` is 1 if that side
    won, 0 if it lost, ``None`` if the market was void or unresolved in the window.
    """

    signal: ProposedSignal
    probability: float
    market_probability: float | None
    outcome: int | None


@dataclass(frozen=True, slots=True)
class MarkedPosition:
    """A position still open at the end, valued at the last mid price: flagged, not settled."""

    market_id: int
    side: Side
    contracts: int
    mark_price: Decimal
    value: Decimal
    marked_at: datetime


@dataclass(frozen=True)
class BacktestResult:
    strategy: str
    strategy_version: str
    config: BacktestConfig
    start: datetime
    end: datetime
    starting_cash: Decimal
    final_cash: Decimal
    final_equity: Decimal
    fees_paid: Decimal
    turnover: Decimal
    fills: tuple[Fill, ...]
    rejections: tuple[Rejection, ...]
    settlements: tuple[Settlement, ...]
    trades: tuple[Trade, ...]
    unresolved: tuple[MarkedPosition, ...]
    signals: tuple[ScoredSignal, ...]
    #: One row per evaluation: ``ts``, ``equity``, ``cash``, ``exposure`` (gross marked value).
    equity: pl.DataFrame
    warnings: tuple[str, ...]
    ticks: int
    evaluations: int

    @property
    def pnl(self) -> Decimal:
        return self.final_equity - self.starting_cash


def resolutions_from_frame(frame: pl.DataFrame) -> list[Resolution]:
    """Rows of (``market_id``, ``resolution``, ``resolved_at``) as ``Resolution`` records."""
    out: list[Resolution] = []
    for row in frame.select("market_id", "resolution", "resolved_at").iter_rows():
        if row[1] not in ("yes", "no", "void"):
            raise InvalidInput(f"unknown resolution {row[1]!r} for market {row[0]}")
        out.append(Resolution(int(row[0]), row[1], row[2]))
    return out
