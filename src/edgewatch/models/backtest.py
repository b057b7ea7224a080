"""Stored backtest runs: enough to reproduce a run exactly, and what it traded.

A run records the strategy with its parameters and version, the engine configuration, the data
window, the feature-set and code versions, the seed and a fingerprint of the data it read, so that
``backtest rerun`` can replay it and say whether the stored data has changed since.
``backtest_trades`` holds the run's ledger in time order (fills, settlements, and positions marked
at the end of the window); ``backtest_equity`` its equity curve, one row per evaluation.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.clock import utcnow
from edgewatch.models.base import Base

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
#: Exact money and prices: prices have 6 decimals, Polymarket fees 5, Kalshi fees 2.
Money = Numeric(20, 10)


class BacktestRun(Base):
    __tablename__ = "backtest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    strategy: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="queued")
    seed: Mapped[int] = mapped_column(default=0)
    code_version: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    strategy_version: Mapped[str | None] = mapped_column(String(32))
    feature_set_version: Mapped[str | None] = mapped_column(String(32))
    #: The engine configuration (``BacktestConfig``) as JSON; a rerun uses exactly this.
    config: Mapped[dict[str, Any] | None]
    warnings: Mapped[list[str] | None]
    #: Share of the simulated window replayed so far, 0 to 1.
    progress: Mapped[float] = mapped_column(default=0.0, server_default="0")
    cancel_requested: Mapped[bool] = mapped_column(default=False, server_default=false())
    started_at: Mapped[datetime | None]
    #: SHA-256 of the ticks, markets, links and resolutions the run read.
    data_fingerprint: Mapped[str | None] = mapped_column(String(64))
    #: Counts beside the metrics: ticks, evaluations, rejections by reason, final cash and equity.
    summary: Mapped[dict[str, Any] | None]
    #: The run this one replays (``backtest rerun``), if any.
    rerun_of: Mapped[int | None]


class BacktestTrade(Base):
    """One ledger entry of a run: a fill, a settlement, or an open position marked at the end.

    ``cash_flow`` is the cash the entry moved (negative for a purchase, fee included); a fill that
    nets against the opposite side also receives $1 per closed pair, which the portfolio books.
    """

    __tablename__ = "backtest_trades"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("backtest_runs.id", ondelete="CASCADE"))
    #: Position in the run's ledger, from 0.
    seq: Mapped[int]
    #: ``fill``, ``settlement`` or ``mark``.
    kind: Mapped[str] = mapped_column(String(16))
    market_id: Mapped[int]
    side: Mapped[str] = mapped_column(String(3))
    #: ``buy`` / ``sell`` for fills, ``settle`` for settlements, ``mark`` for marks.
    action: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int]
    price: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    cash_flow: Mapped[Decimal] = mapped_column(Money)
    ts: Mapped[datetime]
    #: ``yes`` / ``no`` / ``void`` for settlements.
    resolution: Mapped[str | None] = mapped_column(String(8))
    #: The dedupe key of the signal behind a fill.
    reference: Mapped[str | None] = mapped_column(String(200))


class BacktestEquity(Base):
    """The run's equity curve: cash plus open positions at the last mid, per evaluation."""

    __tablename__ = "backtest_equity"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("backtest_runs.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    equity: Mapped[float]
    cash: Mapped[float]
    exposure: Mapped[float]
