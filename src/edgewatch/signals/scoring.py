"""Scoring signals against outcomes, computed on the fly from the signals and markets tables.

A signal is scored once its market has resolved YES or NO (void markets are never scored) and,
for a signal with a ``paired_market_id``, once that market has too. Per signal:

* **fill**: the signal's own limit price, for ``size_hint`` contracts (at least one), at the
  venue's taker fee for that many contracts (``venues.fees.market_fee``). A riskless pair
  (cross-venue arbitrage: ``paired_side`` in its inputs) also buys its second leg at
  ``paired_limit_price`` on the paired market.
* **realised edge** per contract, after fees: what the contracts paid (1 or 0 per leg) minus
  price and fee per contract of every leg. ``None`` when a leg's fee schedule is unknown.
  **Promised edge** is the signal's ``edge``; **hit** is realised edge > 0.
* **probability** of YES on the signal's market, as the signal implied it: the model's or
  strategy's ``fair_value`` when its inputs carry one; else, from the edge it claimed before
  fees, ``limit_price + gross_edge`` for the side it bought (YES: that; NO: one minus it). A
  riskless pair forecasts nothing, so its probability is the price it paid: the limit price
  (for a NO leg, ``1 − limit_price`` in YES terms) — its Brier advantage is zero by design.
* **market probability**: the same fill's price in YES terms (the ask paid for YES, the bid sold
  against for NO). Brier advantage = market Brier − signal Brier: positive when the signal knew
  better than the price it traded at.

Brier score, log loss and the calibration table are ``backtest.metrics``' functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from edgewatch.backtest.metrics import brier_advantage, brier_score, calibration_table, log_loss
from edgewatch.errors import FeeUnknown
from edgewatch.models import Market, Signal
from edgewatch.venues.fees import market_fee

RESOLVED = ("yes", "no")


@dataclass(frozen=True, slots=True)
class Leg:
    market: Market
    side: str
    price: float


@dataclass(frozen=True, slots=True)
class SignalScore:
    signal_id: int
    strategy: str
    strategy_version: str
    model: str | None
    market_id: int
    paired_market_id: int | None
    side: str
    signal_ts: datetime
    resolved_at: datetime | None
    resolution: str
    limit_price: float
    contracts: int
    probability: float
    market_probability: float
    promised_edge: float
    realised_edge: float | None
    hit: bool | None
    brier: float
    log_loss: float


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    """Scores of one strategy (and, when ``model`` is set, one model version of it)."""

    strategy: str
    model: str | None
    signals: int
    hit_rate: float
    edge_promised: float
    edge_realised: float
    brier: float
    log_loss: float
    brier_market: float
    brier_advantage: float
    calibration: pl.DataFrame


def _side_probability(signal: Signal) -> float:
    inputs = signal.inputs or {}
    if "paired_side" in inputs:
        return signal.limit_price
    fair = inputs.get("fair_value")
    if isinstance(fair, int | float) and math.isfinite(fair):
        return float(fair) if signal.side == "yes" else 1.0 - float(fair)
    gross = inputs.get("gross_edge")
    if isinstance(gross, int | float) and math.isfinite(gross):
        return signal.limit_price + float(gross)
    return signal.limit_price


def _yes_terms(side: str, probability: float) -> float:
    value = probability if side == "yes" else 1.0 - probability
    return min(max(value, 0.0), 1.0)


def _fee_per_contract(leg: Leg, contracts: int) -> float:
    fee = market_fee(
        fee_schedule=leg.market.fee_schedule,
        fee_multiplier=leg.market.fee_multiplier,
        fee_rate=leg.market.fee_rate,
        price=leg.price,
        contracts=contracts,
    )
    return float(fee) / contracts


def _realised_edge(legs: Sequence[Leg], contracts: int) -> float | None:
    total = 0.0
    for leg in legs:
        try:
            fee = _fee_per_contract(leg, contracts)
        except FeeUnknown:
            return None
        payout = 1.0 if leg.market.resolution == leg.side else 0.0
        total += payout - leg.price - fee
    return total


def score_signal(signal: Signal, market: Market, paired: Market | None = None) -> SignalScore:
    """The score of one signal on its resolved market (and resolved paired market, if any)."""
    inputs = signal.inputs or {}
    contracts = max(1, math.floor(signal.size_hint))
    legs = [Leg(market, signal.side, signal.limit_price)]
    paired_side, paired_price = inputs.get("paired_side"), inputs.get("paired_limit_price")
    if paired is not None and paired_side in RESOLVED and isinstance(paired_price, int | float):
        legs.append(Leg(paired, str(paired_side), float(paired_price)))
    realised = _realised_edge(legs, contracts)
    probability = _yes_terms(signal.side, _side_probability(signal))
    outcome = 1.0 if market.resolution == "yes" else 0.0
    model = inputs.get("model")
    return SignalScore(
        signal_id=signal.id,
        strategy=signal.strategy,
        strategy_version=signal.strategy_version,
        model=f"{model} v{inputs.get('model_version')}" if isinstance(model, str) else None,
        market_id=signal.market_id,
        paired_market_id=signal.paired_market_id,
        side=signal.side,
        signal_ts=signal.signal_ts,
        resolved_at=market.resolved_at,
        resolution=str(market.resolution),
        limit_price=signal.limit_price,
        contracts=contracts,
        probability=probability,
        market_probability=_yes_terms(signal.side, signal.limit_price),
        promised_edge=signal.edge,
        realised_edge=realised,
        hit=None if realised is None else realised > 0,
        brier=brier_score([probability], [outcome]),
        log_loss=log_loss([probability], [outcome]),
    )


def scores(
    session: Session,
    *,
    strategy: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int | None = None,
) -> list[SignalScore]:
    """Scores of resolved signals, newest first by id; ``since`` is inclusive on ``signal_ts``."""
    paired = aliased(Market)
    stmt = (
        select(Signal, Market, paired)
        .join(Market, Market.id == Signal.market_id)
        .outerjoin(paired, paired.id == Signal.paired_market_id)
        .where(Market.status == "resolved", Market.resolution.in_(RESOLVED))
        .where(
            Signal.paired_market_id.is_(None)
            | ((paired.status == "resolved") & paired.resolution.in_(RESOLVED))
        )
    )
    if strategy is not None:
        stmt = stmt.where(Signal.strategy == strategy)
    if since is not None:
        stmt = stmt.where(Signal.signal_ts >= since)
    if before_id is not None:
        stmt = stmt.where(Signal.id < before_id)
    stmt = stmt.order_by(Signal.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [score_signal(s, m, p) for s, m, p in session.execute(stmt).all()]


def summarise(
    rows: Sequence[SignalScore], *, strategy: str, model: str | None = None, bins: int = 10
) -> CalibrationReport:
    """Calibration, Brier advantage and edge realised vs promised over ``rows``."""
    p = [row.probability for row in rows]
    market = [row.market_probability for row in rows]
    y = [1.0 if row.resolution == "yes" else 0.0 for row in rows]
    realised = [row.realised_edge for row in rows if row.realised_edge is not None]
    promised = [row.promised_edge for row in rows if row.realised_edge is not None]
    hits = [row.hit for row in rows if row.hit is not None]
    return CalibrationReport(
        strategy=strategy,
        model=model,
        signals=len(rows),
        hit_rate=sum(hits) / len(hits) if hits else math.nan,
        edge_promised=sum(promised) / len(promised) if promised else math.nan,
        edge_realised=sum(realised) / len(realised) if realised else math.nan,
        brier=brier_score(p, y),
        log_loss=log_loss(p, y),
        brier_market=brier_score(market, y),
        brier_advantage=brier_advantage(p, market, y) if rows else math.nan,
        calibration=calibration_table(p, y, bins=bins),
    )


def strategy_calibration(
    session: Session, strategy: str, *, since: datetime | None = None, bins: int = 10
) -> CalibrationReport:
    return summarise(scores(session, strategy=strategy, since=since), strategy=strategy, bins=bins)


def report(
    session: Session, *, since: datetime | None = None, bins: int = 10
) -> list[CalibrationReport]:
    """One report per strategy, then one per model version for signals that name a model."""
    rows = scores(session, since=since)
    groups: dict[tuple[str, str | None], list[SignalScore]] = {}
    for row in rows:
        groups.setdefault((row.strategy, None), []).append(row)
        if row.model is not None:
            groups.setdefault((row.strategy, row.model), []).append(row)
    ordered = sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or ""))
    return [
        summarise(group, strategy=strategy, model=model, bins=bins)
        for (strategy, model), group in ordered
    ]


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# -- command line: `edgewatch signals report` ------------------------------------------------


def signals_report(
    since: Annotated[
        str | None, typer.Option("--since", help="Only signals at or after (ISO 8601).")
    ] = None,
    bins: Annotated[int, typer.Option(help="Calibration buckets.", min=2, max=50)] = 10,
    calibration: Annotated[
        bool, typer.Option(help="Also print each strategy's calibration table.")
    ] = True,
) -> None:
    """Score resolved signals per strategy and model: Brier, calibration, edge realised."""
    from edgewatch.clock import parse_timestamp
    from edgewatch.config import load_settings
    from edgewatch.db.engine import create_db_engine
    from edgewatch.db.session import make_session_factory, session_scope

    settings = load_settings()
    engine = create_db_engine(settings.resolved_database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            reports = report(session, since=parse_timestamp(since) if since else None, bins=bins)
    finally:
        engine.dispose()
    console = Console()
    table = Table(
        "strategy", "model", "signals", "hit rate", "edge promised", "edge realised",
        "Brier", "market Brier", "advantage", "log loss", title="signal scores (resolved markets)",
    )  # fmt: skip
    for item in reports:
        table.add_row(
            item.strategy,
            item.model or "",
            str(item.signals),
            _cell(item.hit_rate, "{:.1%}"),
            _cell(item.edge_promised, "{:+.4f}"),
            _cell(item.edge_realised, "{:+.4f}"),
            _cell(item.brier, "{:.4f}"),
            _cell(item.brier_market, "{:.4f}"),
            _cell(item.brier_advantage, "{:+.4f}"),
            _cell(item.log_loss, "{:.4f}"),
        )
    console.print(table)
    if not reports:
        console.print("no signal has a resolved market yet")
    if calibration:
        for item in reports:
            buckets = Table("bucket", "count", "predicted", "observed", title=_title(item))
            for row in item.calibration.filter(pl.col("count") > 0).iter_rows(named=True):
                buckets.add_row(
                    f"{row['bin_low']:.2f}–{row['bin_high']:.2f}",
                    str(row["count"]),
                    _cell(row["mean_probability"], "{:.3f}"),
                    _cell(row["observed_frequency"], "{:.3f}"),
                )
            console.print(buckets)


def _title(item: CalibrationReport) -> str:
    return f"calibration: {item.strategy}" + (f" ({item.model})" if item.model else "")


def _cell(value: Any, pattern: str) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return pattern.format(value)
