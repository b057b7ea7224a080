"""Parity: the same signals through the backtest engine and through paper trading, on the same
replayed ticks, give the same fills and the same P&L — to the last decimal.

Forty minutes of the simulator are ingested, and the mean-reversion strategy is backtested over
them. The database is then rewound (ticks deleted, outcomes hidden) and replayed as it would arrive
live: at each of the backtest's evaluation times ``now``, the ticks up to ``now`` are stored, the
markets resolved by ``now`` get their outcome, the signals the backtest's strategy emitted at that
evaluation are stored through the live signals service, and the ``paper-trade`` pipeline step runs
with that ``now``. The account's fills, settlements, cash and marked equity must equal the
backtest's exactly, with the backtest's own sizing and with the paper policy's Kelly sizing (the
backtest then sizes with the same policy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.backtest import BacktestConfig, BacktestResult, run_backtest
from edgewatch.backtest.service import BacktestInputs, load_inputs
from edgewatch.db.session import session_scope
from edgewatch.jobs.runner import PipelineContext
from edgewatch.models import Market, OddsTick
from edgewatch.models.paper import PaperAccount, PaperFill, PaperSettlement
from edgewatch.paper import service
from edgewatch.paper.policy import Policy
from edgewatch.paper.tasks import paper_trade_step
from edgewatch.signals.service import generate_signals
from edgewatch.strategies.base import LinkInfo, MarketInfo, ProposedSignal
from edgewatch.strategies.registry import create_strategy
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import SimConfig, SimWorld

END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=40)
STEP = timedelta(minutes=2)
CASH = Decimal(10_000)

POLICIES = {
    # The backtest's default sizing (the signal's size hint) with caps that never bind.
    "signal": Policy(
        min_confidence=0.0,
        sizing="signal",
        max_market_exposure=Decimal(10**9),
        max_total_exposure=Decimal(10**9),
        daily_loss_limit=None,
    ),
    # Half Kelly with binding exposure caps; the backtest sizes with this very policy.
    "kelly": Policy(
        min_confidence=0.2,
        sizing="kelly",
        kelly_fraction=Decimal("0.5"),
        max_market_exposure=Decimal(40),
        max_total_exposure=Decimal(300),
        daily_loss_limit=None,
    ),
}


@pytest.fixture
def history(session_factory: sessionmaker[Session]) -> BacktestInputs:
    """Forty minutes of the simulator, ingested: markets open, trade, and some resolve."""
    venue = SimVenue(SimWorld(SimConfig(events=10)))
    with session_scope(session_factory) as session:
        ingest_window(session, venue, since=START, until=END)
    with session_scope(session_factory) as session:
        return load_inputs(session)


def evaluation_times(start: datetime, end: datetime) -> Iterator[datetime]:
    """The backtest's decision clock: ``start + step``, … up to ``end`` inclusive."""
    now = min(start + STEP, end)
    while True:
        yield now
        if now >= end:
            return
        now = min(now + STEP, end)


def by_evaluation(
    result: BacktestResult, start: datetime, end: datetime
) -> dict[datetime, list[ProposedSignal]]:
    """Each signal under the evaluation that emitted it: the first one at or after its time."""
    times = list(evaluation_times(start, end))
    batches: dict[datetime, list[ProposedSignal]] = defaultdict(list)
    for scored in result.signals:
        signal = scored.signal
        batches[next(t for t in times if t >= signal.signal_ts)].append(signal)
    return batches


class Replayed:
    """A strategy that re-emits the signals the backtested strategy emitted at this evaluation."""

    name = "replayed"
    version = "1"

    def __init__(self, batch: Sequence[ProposedSignal]) -> None:
        self.batch = list(batch)

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        return self.batch


def rewind(session: Session) -> dict[int, tuple[str, str | None, datetime | None]]:
    """Delete every tick and hide every outcome; returns what was hidden."""
    hidden = {
        row.id: (row.status, row.resolution, row.resolved_at)
        for row in session.scalars(select(Market))
    }
    session.execute(delete(OddsTick))
    session.execute(update(Market).values(status="open", resolution=None, resolved_at=None))
    return hidden


def arrive(
    session: Session,
    ticks: pl.DataFrame,
    hidden: Mapping[int, tuple[str, str | None, datetime | None]],
    *,
    after: datetime | None,
    now: datetime,
) -> None:
    """Store the ticks of ``(after, now]`` and publish the outcomes known by ``now``."""
    window = ticks.filter(pl.col("tick_ts") <= now)
    if after is not None:
        window = window.filter(pl.col("tick_ts") > after)
    rows: list[dict[str, Any]] = window.to_dicts()
    if rows:
        session.execute(insert(OddsTick), rows)
    for market_id, (status, resolution, resolved_at) in hidden.items():
        if resolution is not None and resolved_at is not None and resolved_at <= now:
            market = session.get_one(Market, market_id)
            if market.resolution is None:
                market.status, market.resolution, market.resolved_at = (
                    status,
                    resolution,
                    resolved_at,
                )


@pytest.mark.both_backends
@pytest.mark.parametrize("sizing", sorted(POLICIES))
def test_paper_trading_replays_the_backtest_fill_for_fill(
    session_factory: sessionmaker[Session],
    session: Session,
    history: BacktestInputs,
    sizing: str,
) -> None:
    policy = POLICIES[sizing]
    config = BacktestConfig(
        starting_cash=CASH, max_position=100, step=STEP, start=history.start, end=history.end
    )
    result = run_backtest(
        create_strategy("mean_reversion"),
        history.ticks,
        markets=history.markets,
        resolutions=history.resolutions,
        links=history.links,
        config=config,
        sizer=policy.size,
    )
    assert len(result.fills) >= 5, "the window should trade"
    assert result.settlements, "some positions should settle"
    keys = [s.signal.dedupe_key for s in result.signals]
    assert len(keys) == len(set(keys))

    with session_scope(session_factory) as s:
        hidden = rewind(s)
        account_id = service.create_account(
            s,
            service.AccountSettings(
                name="parity",
                starting_balance=CASH,
                policy=policy,
                max_position=config.max_position,
                slippage=config.fills.slippage,
                latency=config.fills.latency,
            ),
            owner_id=None,
            actor="test",
            now=history.start,
        ).id
    batches = by_evaluation(result, history.start, history.end)
    after: datetime | None = None
    for now in evaluation_times(history.start, history.end):
        with session_scope(session_factory) as s:
            arrive(s, history.ticks, hidden, after=after, now=now)
        with session_scope(session_factory) as s:
            generate_signals(
                s,
                [Replayed(batches.get(now, []))],
                since=after,
                until=now,
                lookback=timedelta(minutes=5),
                high_confidence=1.0,
            )
        with session_scope(session_factory) as s:
            paper_trade_step(
                s,
                PipelineContext(settings=None, run_id=0, previous_cursor=None, now=now),  # type: ignore[arg-type]
            )
        after = now

    def fill_key(f: Any) -> tuple[Any, ...]:
        return (f.filled_at, f.market_id, f.side, f.action, f.quantity, f.price, f.fee)

    paper_fills = sorted(
        fill_key(f)
        for f in session.scalars(select(PaperFill).where(PaperFill.account_id == account_id))
    )
    assert paper_fills == sorted(fill_key(f) for f in result.fills)

    paper_settlements = sorted(
        (r.market_id, r.resolution, r.side, r.contracts, r.payout)
        for r in session.scalars(select(PaperSettlement))
    )
    assert paper_settlements == sorted(
        (s.market_id, s.resolution, s.side, s.contracts, s.payout) for s in result.settlements
    )
    account = session.get_one(PaperAccount, account_id)
    assert account.cash == result.final_cash
    assert account.fees_paid == result.fees_paid
    closed = sum((t.pnl for t in result.trades if t.closed), Decimal(0))
    assert account.realised_pnl == closed
    marked = service.valuation(session, account, now=history.end)
    assert marked.equity == result.final_equity
    assert marked.equity - account.starting_balance == result.pnl
