"""Signal generation: run the strategies over fresh ticks and store what they propose.

Incremental and idempotent. The run's cursor is the newest tick time it evaluated; the next run
evaluates only later ticks, with ``lookback`` of earlier ticks as context so a strategy can tell a
new opportunity from one it already reported. Every signal carries a ``dedupe_key`` derived from the
data it saw, and inserts skip keys already stored, so re-running a window adds nothing. Each stored
signal is written to the audit log in the same transaction, and one at or above the
high-confidence threshold also raises an alert event there (``alerts.events``) for the notifier.
The time spent computing features inside the strategies is observed as
``edgewatch_feature_computation_seconds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from edgewatch.alerts import events as alert_events
from edgewatch.audit import service as audit
from edgewatch.clock import utcnow
from edgewatch.features import timing as feature_timing
from edgewatch.models import Market, MarketLink, OddsTick, Signal
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import (
    FEATURE_COMPUTATION,
    HIGH_CONFIDENCE_SIGNALS,
    SIGNALS_GENERATED,
)
from edgewatch.strategies.base import TICK_SCHEMA, LinkInfo, MarketInfo, ProposedSignal, Strategy

log = get_logger(__name__)
SYSTEM_ACTOR = "system:signals"


@dataclass(frozen=True, slots=True)
class GenerationResult:
    ticks_evaluated: int
    proposed: int
    stored: int
    newest_tick: datetime | None
    by_strategy: dict[str, int]


def strategy_inputs(
    session: Session, *, trading_after: datetime
) -> tuple[list[LinkInfo], dict[int, MarketInfo]]:
    """Markets that traded after ``trading_after``, and the confirmed links among them.

    Markets that have closed since still count: their ticks before the close are fair game.
    Void markets are left out; outcomes are never part of what a strategy sees.
    """
    markets = {
        market.id: market_info(market)
        for market in session.scalars(
            select(Market).where(
                Market.status != "void",
                Market.close_time.is_(None) | (Market.close_time > trading_after),
            )
        )
    }
    links = [
        LinkInfo(
            market_a=link.market_a_id,
            market_b=link.market_b_id,
            relation="complement" if link.relation == "complement" else "same",
            confidence=link.confidence,
        )
        for link in session.scalars(select(MarketLink).where(MarketLink.status == "confirmed"))
        if link.market_a_id in markets and link.market_b_id in markets
    ]
    return links, markets


def market_info(market: Market) -> MarketInfo:
    return MarketInfo(
        market_id=market.id,
        venue=market.venue,
        fee_schedule=market.fee_schedule,
        fee_multiplier=market.fee_multiplier,
        fee_rate=market.fee_rate,
        close_time=market.close_time,
    )


def load_ticks(
    session: Session, market_ids: Sequence[int], *, after: datetime, until: datetime
) -> pl.DataFrame:
    """Ticks of ``market_ids`` in ``(after, until]``, read through the (market, time) key."""
    if not market_ids:
        return pl.DataFrame(schema=TICK_SCHEMA)
    rows = session.execute(
        select(
            OddsTick.market_id,
            OddsTick.tick_ts,
            OddsTick.bid,
            OddsTick.ask,
            OddsTick.last,
            OddsTick.volume,
            OddsTick.bid_size,
            OddsTick.ask_size,
        )
        .where(
            OddsTick.market_id.in_(list(market_ids)),
            OddsTick.tick_ts > after,
            OddsTick.tick_ts <= until,
        )
        .order_by(OddsTick.market_id, OddsTick.tick_ts)
    ).all()
    return pl.DataFrame([tuple(row) for row in rows], schema=TICK_SCHEMA, orient="row")


def generate_signals(
    session: Session,
    strategies: Sequence[Strategy],
    *,
    since: datetime | None,
    until: datetime,
    lookback: timedelta,
    high_confidence: float,
) -> GenerationResult:
    """Evaluate ``strategies`` on ticks after ``since`` (up to ``until``) and store new signals."""
    start = (since or until - lookback) - lookback
    links, markets = strategy_inputs(session, trading_after=start)
    ticks = load_ticks(session, sorted(markets), after=start, until=until)
    fresh = ticks if since is None else ticks.filter(pl.col("tick_ts") > since)
    newest = fresh.get_column("tick_ts").max() if not fresh.is_empty() else None
    proposed: list[tuple[Strategy, ProposedSignal]] = []
    with feature_timing.observing(_observe_feature_seconds):
        for strategy in strategies:
            for signal in strategy.evaluate(ticks, markets=markets, links=links, since=since):
                proposed.append((strategy, signal))
    by_strategy: dict[str, int] = {}
    stored = 0
    for strategy, proposal in proposed:
        signal_id = _insert(session, strategy, proposal)
        if signal_id is None:
            continue
        stored += 1
        by_strategy[strategy.name] = by_strategy.get(strategy.name, 0) + 1
        audit.append(
            session,
            actor=SYSTEM_ACTOR,
            action="signal.generated",
            subject_type="signal",
            subject_id=signal_id,
            details=_audit_details(strategy, proposal),
        )
        SIGNALS_GENERATED.labels(strategy=strategy.name).inc()
        # Only a signal one can still act on is news: a backfill (the demo's first run, a catch-up
        # after an outage) stores hundreds of historical signals that expired long ago, and
        # paging or logging each of them would bury the live ones.
        if proposal.confidence >= high_confidence and proposal.expires_at > until:
            HIGH_CONFIDENCE_SIGNALS.labels(strategy=strategy.name).inc()
            alert_events.raise_event(
                session,
                alert_events.high_confidence_signal(
                    signal_id=signal_id,
                    strategy=strategy.name,
                    market_id=proposal.market_id,
                    side=proposal.side,
                    limit_price=proposal.limit_price,
                    edge=proposal.edge,
                    confidence=proposal.confidence,
                    threshold=high_confidence,
                ),
                now=utcnow(),
            )
            log.warning(
                "high_confidence_signal",
                signal_id=signal_id,
                strategy=strategy.name,
                market_id=proposal.market_id,
                edge=proposal.edge,
                confidence=proposal.confidence,
            )
    return GenerationResult(
        ticks_evaluated=fresh.height,
        proposed=len(proposed),
        stored=stored,
        newest_tick=newest if isinstance(newest, datetime) else None,
        by_strategy=by_strategy,
    )


def _observe_feature_seconds(group: str, seconds: float) -> None:
    FEATURE_COMPUTATION.labels(group=group).observe(seconds)


def _insert(session: Session, strategy: Strategy, proposal: ProposedSignal) -> int | None:
    """Insert unless the dedupe key is already stored; the new id, or None for a duplicate."""
    values: dict[str, Any] = {
        "signal_ts": proposal.signal_ts,
        "strategy": strategy.name,
        "strategy_version": strategy.version,
        "market_id": proposal.market_id,
        "side": proposal.side,
        "limit_price": proposal.limit_price,
        "paired_market_id": proposal.paired_market_id,
        "size_hint": proposal.size_hint,
        "edge": proposal.edge,
        "confidence": proposal.confidence,
        "expires_at": proposal.expires_at,
        "inputs": proposal.inputs,
        "dedupe_key": proposal.dedupe_key,
    }
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Signal)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Signal.id)
    )
    return session.execute(statement).scalar_one_or_none()


def _audit_details(strategy: Strategy, proposal: ProposedSignal) -> dict[str, Any]:
    return {
        "strategy": strategy.name,
        "strategy_version": strategy.version,
        "market_id": proposal.market_id,
        "paired_market_id": proposal.paired_market_id,
        "side": proposal.side,
        "limit_price": proposal.limit_price,
        "edge": proposal.edge,
        "confidence": proposal.confidence,
        "signal_ts": proposal.signal_ts.isoformat(),
        "dedupe_key": proposal.dedupe_key,
    }
