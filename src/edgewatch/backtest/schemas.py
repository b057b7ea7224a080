"""API models of backtests. Money is an exact decimal string; prices are probabilities in [0, 1]."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgewatch.api.params import IsoDateTime
from edgewatch.backtest.records import BacktestConfig
from edgewatch.backtest.run_config import config_from_json
from edgewatch.models.backtest import BacktestEquity, BacktestRun, BacktestTrade

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class BacktestSettings(BaseModel):
    """Engine settings; every field defaults to the pessimistic engine default."""

    model_config = ConfigDict(extra="forbid")

    starting_cash: Decimal = Field(default=Decimal(10_000), gt=0, le=10**12, allow_inf_nan=False)
    max_position: int = Field(default=100, ge=1, le=10**9)
    step_seconds: float = Field(default=60.0, gt=0, le=365 * 86_400, allow_inf_nan=False)
    lookback_seconds: float = Field(default=21_600.0, ge=0, le=365 * 86_400, allow_inf_nan=False)
    slippage: Decimal = Field(default=Decimal("0.01"), ge=0, le=1, allow_inf_nan=False)
    latency_seconds: float = Field(default=2.0, ge=0, le=86_400, allow_inf_nan=False)
    limit_to_displayed_size: bool = True
    order_time: Literal["evaluation", "signal"] = "evaluation"
    min_confidence: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)

    def to_config(self) -> BacktestConfig:
        return config_from_json(self.model_dump(mode="json"))


class BacktestCreate(BaseModel):
    """A backtest to queue. The window defaults to every stored tick."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    params: dict[str, Any] = Field(default_factory=dict)
    start: IsoDateTime | None = None
    end: IsoDateTime | None = None
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    settings: BacktestSettings = Field(default_factory=BacktestSettings)

    @model_validator(mode="after")
    def _window_in_order(self) -> BacktestCreate:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must carry a time zone (e.g. 2026-01-01T00:00:00Z)")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("end must not be earlier than start")
        return self


class BacktestRunOut(BaseModel):
    """A run as listed: what ran, over which window, and how it ended."""

    id: int
    created_at: datetime
    status: RunStatus
    strategy: str
    strategy_version: str | None
    params: dict[str, Any]
    window_start: datetime | None
    window_end: datetime | None
    seed: int
    progress: float
    cancel_requested: bool
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    pnl: str | None = Field(description="P&L in dollars (exact decimal string), when finished.")
    sharpe: float | None

    @classmethod
    def from_run(cls, run: BacktestRun) -> BacktestRunOut:
        return cls(**_run_fields(run))


class BacktestRunDetail(BacktestRunOut):
    """A run with everything needed to reproduce it, and its metrics."""

    code_version: str
    feature_set_version: str | None
    settings: dict[str, Any] | None
    data_fingerprint: str | None
    rerun_of: int | None
    warnings: list[str]
    summary: dict[str, Any] | None
    metrics: dict[str, Any]

    @classmethod
    def from_run(cls, run: BacktestRun) -> BacktestRunDetail:
        return cls(
            **_run_fields(run),
            code_version=run.code_version,
            feature_set_version=run.feature_set_version,
            settings=run.config,
            data_fingerprint=run.data_fingerprint,
            rerun_of=run.rerun_of,
            warnings=run.warnings or [],
            summary=run.summary,
            metrics=run.metrics,
        )


def _run_fields(run: BacktestRun) -> dict[str, Any]:
    metrics = run.metrics or {}
    return {
        "id": run.id,
        "created_at": run.created_at,
        "status": run.status,
        "strategy": run.strategy,
        "strategy_version": run.strategy_version,
        "params": run.params,
        "window_start": run.window_start,
        "window_end": run.window_end,
        "seed": run.seed,
        "progress": run.progress,
        "cancel_requested": run.cancel_requested,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error,
        "pnl": metrics.get("pnl"),
        "sharpe": metrics.get("sharpe"),
    }


class BacktestQueued(BaseModel):
    run_id: int
    status: RunStatus


class BacktestTradeOut(BaseModel):
    """One ledger entry: a fill, a settlement, or a position marked at the end of the window.

    ``cash_flow`` is signed (negative for a purchase, fees included); for a mark it is the
    position's value at the last mid, not cash.
    """

    seq: int
    kind: Literal["fill", "settlement", "mark"]
    ts: datetime
    market_id: int
    side: Literal["yes", "no"]
    action: Literal["buy", "sell", "settle", "mark"]
    quantity: int
    price: str
    fee: str
    cash_flow: str
    resolution: str | None
    reference: str | None

    @classmethod
    def from_row(cls, row: BacktestTrade) -> BacktestTradeOut:
        return cls(
            seq=row.seq,
            kind=row.kind,
            ts=row.ts,
            market_id=row.market_id,
            side=row.side,
            action=row.action,
            quantity=row.quantity,
            price=_money(row.price),
            fee=_money(row.fee),
            cash_flow=_money(row.cash_flow),
            resolution=row.resolution,
            reference=row.reference,
        )


def _money(value: Decimal) -> str:
    """Trailing zeros of the column scale dropped: ``0.4500000000`` → ``0.45``."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


class EquityPoint(BaseModel):
    ts: datetime
    equity: float
    cash: float
    exposure: float

    @classmethod
    def from_row(cls, row: BacktestEquity) -> EquityPoint:
        return cls(ts=row.ts, equity=row.equity, cash=row.cash, exposure=row.exposure)


class EquityCurve(BaseModel):
    """The equity curve, evenly thinned to at most ``max_points`` (first and last always kept)."""

    run_id: int
    total_points: int
    points: list[EquityPoint]
