"""Queries of the backtest layer: the data a replay reads, and stored runs, trades and equity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, aliased

from edgewatch.backtest.records import BacktestResult, Resolution
from edgewatch.models import Market, OddsTick
from edgewatch.models.backtest import BacktestEquity, BacktestRun, BacktestTrade
from edgewatch.signals.service import load_ticks, market_info, strategy_inputs
from edgewatch.strategies.base import LinkInfo, MarketInfo

_INSERT_BATCH = 5_000
#: The scale of the ledger's money columns.
PRICE_PLACES = Decimal("1e-10")


def tick_range(session: Session) -> tuple[datetime | None, datetime | None]:
    """The oldest and newest stored tick times."""
    row = session.execute(select(func.min(OddsTick.tick_ts), func.max(OddsTick.tick_ts))).one()
    return row[0], row[1]


def markets_with_ticks(
    session: Session, *, start: datetime, end: datetime
) -> dict[int, MarketInfo]:
    """Public terms of every market with a tick in ``[start, end]``: never their outcome."""
    traded = (
        select(OddsTick.market_id)
        .where(OddsTick.tick_ts >= start, OddsTick.tick_ts <= end)
        .distinct()
    )
    markets = session.scalars(select(Market).where(Market.id.in_(traded)).order_by(Market.id))
    return {market.id: market_info(market) for market in markets}


def window_ticks(
    session: Session, market_ids: Sequence[int], *, start: datetime, end: datetime
) -> pl.DataFrame:
    """Ticks of ``market_ids`` in ``[start, end]`` (``TICK_SCHEMA``)."""
    # load_ticks reads (after, until]; tick times are microseconds, so this makes it [start, end].
    return load_ticks(session, market_ids, after=start - timedelta(microseconds=1), until=end)


def confirmed_links_between(
    session: Session, markets: Mapping[int, MarketInfo], *, start: datetime
) -> list[LinkInfo]:
    """Confirmed links whose two markets both trade in the window (unconfirmed never trade)."""
    links, _ = strategy_inputs(session, trading_after=start)
    return [link for link in links if link.market_a in markets and link.market_b in markets]


def resolutions(session: Session, market_ids: Sequence[int]) -> list[Resolution]:
    """The resolution table: markets that have resolved, with their outcome and time."""
    if not market_ids:
        return []
    rows = session.execute(
        select(Market.id, Market.resolution, Market.resolved_at)
        .where(
            Market.id.in_(list(market_ids)),
            Market.resolution.is_not(None),
            Market.resolved_at.is_not(None),
        )
        .order_by(Market.id)
    ).all()
    out: list[Resolution] = []
    for market_id, resolution, resolved_at in rows:
        if resolution in ("yes", "no", "void"):
            out.append(Resolution(market_id, resolution, resolved_at))
    return out


def ledger_rows(run_id: int, result: BacktestResult) -> list[dict[str, Any]]:
    """Fills, settlements and end-of-window marks in time order (at one instant: settlements,
    then fills, then marks, as the engine processed them)."""
    entries: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for n, fill in enumerate(result.fills):
        entries.append(
            (
                fill.filled_at,
                1,
                n,
                {
                    "kind": "fill",
                    "market_id": fill.market_id,
                    "side": fill.side,
                    "action": fill.action,
                    "quantity": fill.quantity,
                    "price": fill.price,
                    "fee": fill.fee,
                    "cash_flow": fill.cash_flow,
                    "ts": fill.filled_at,
                    "resolution": None,
                    "reference": fill.reference or None,
                },
            )
        )
    for n, settlement in enumerate(result.settlements):
        assert settlement.side is not None
        entries.append(
            (
                settlement.settled_at,
                0,
                n,
                {
                    "kind": "settlement",
                    "market_id": settlement.market_id,
                    "side": settlement.side,
                    "action": "settle",
                    "quantity": settlement.contracts,
                    "price": _per_contract(settlement.payout, settlement.contracts),
                    "fee": 0,
                    "cash_flow": settlement.payout,
                    "ts": settlement.settled_at,
                    "resolution": settlement.resolution,
                    "reference": None,
                },
            )
        )
    for n, marked in enumerate(result.unresolved):
        entries.append(
            (
                marked.marked_at,
                2,
                n,
                {
                    "kind": "mark",
                    "market_id": marked.market_id,
                    "side": marked.side,
                    "action": "mark",
                    "quantity": marked.contracts,
                    "price": _per_contract(marked.value, marked.contracts),
                    "fee": 0,
                    "cash_flow": marked.value,
                    "ts": marked.marked_at,
                    "resolution": None,
                    "reference": None,
                },
            )
        )
    entries.sort(key=lambda entry: entry[:3])
    return [{"run_id": run_id, "seq": seq, **row} for seq, (*_, row) in enumerate(entries)]


def _per_contract(amount: Decimal, contracts: int) -> Decimal:
    return (amount / contracts).quantize(PRICE_PLACES)


def _insert_all(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), _INSERT_BATCH):
        session.execute(insert(table), rows[i : i + _INSERT_BATCH])


def add_ledger(session: Session, run_id: int, result: BacktestResult) -> None:
    _insert_all(session, BacktestTrade, ledger_rows(run_id, result))


def add_equity(session: Session, run_id: int, equity: pl.DataFrame) -> None:
    rows = [
        {"run_id": run_id, "ts": ts, "equity": value, "cash": cash, "exposure": exposure}
        for ts, value, cash, exposure in equity.select(
            "ts", "equity", "cash", "exposure"
        ).iter_rows()
    ]
    _insert_all(session, BacktestEquity, rows)


def list_runs(
    session: Session,
    *,
    limit: int,
    before_id: int | None = None,
    strategy: str | None = None,
    status: str | None = None,
) -> list[BacktestRun]:
    """Runs newest first (by id)."""
    query = select(BacktestRun).order_by(BacktestRun.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(BacktestRun.id < before_id)
    if strategy is not None:
        query = query.where(BacktestRun.strategy == strategy)
    if status is not None:
        query = query.where(BacktestRun.status == status)
    return list(session.scalars(query))


def list_trades(
    session: Session, run_id: int, *, limit: int, after_seq: int | None = None
) -> list[BacktestTrade]:
    """A run's ledger in order."""
    query = (
        select(BacktestTrade)
        .where(BacktestTrade.run_id == run_id)
        .order_by(BacktestTrade.seq)
        .limit(limit)
    )
    if after_seq is not None:
        query = query.where(BacktestTrade.seq > after_seq)
    return list(session.scalars(query))


def equity_curve(session: Session, run_id: int) -> list[BacktestEquity]:
    return list(
        session.scalars(
            select(BacktestEquity)
            .where(BacktestEquity.run_id == run_id)
            .order_by(BacktestEquity.ts)
        )
    )


def thinned_equity_curve(session: Session, run_id: int, *, max_points: int) -> list[BacktestEquity]:
    """At most about ``max_points`` points of the curve, evenly spaced, first and last kept.

    The database skips the points in between (a window function), so a long run's curve is
    never loaded whole just to be thinned.
    """
    total = session.scalar(
        select(func.count()).select_from(BacktestEquity).where(BacktestEquity.run_id == run_id)
    )
    if not total or total <= max_points:
        return equity_curve(session, run_id)
    stride = -(-(total - 1) // (max(max_points, 2) - 1))
    numbered = (
        select(BacktestEquity, func.row_number().over(order_by=BacktestEquity.ts).label("n"))
        .where(BacktestEquity.run_id == run_id)
        .subquery()
    )
    point = aliased(BacktestEquity, numbered)
    keep = ((numbered.c.n - 1) % stride == 0) | (numbered.c.n == total)
    return list(session.scalars(select(point).where(keep).order_by(numbered.c.ts)))
