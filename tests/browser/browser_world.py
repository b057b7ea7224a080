"""The data the browser tests look at: the simulator's markets and quotes, ingested the real way.

``seed_world`` runs the real pipelines (simulator ingest, then signal generation) through
``jobs.runner.run_pipeline``, creates one user per role, proposes one link for review (the
simulator's own links arrive confirmed), stores one finished backtest to compare against, and
opens a paper account for the analyst.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from edgewatch.accounts import users
from edgewatch.backtest import service
from edgewatch.backtest.repository import tick_range
from edgewatch.backtest.tasks import execute_queued_run
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.runner import run_pipeline
from edgewatch.models import Market, MarketLink
from edgewatch.paper import service as paper_service

BACKTEST_STRATEGY = "cross_venue_arbitrage"
BACKTEST_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Account:
    email: str
    password: str


@dataclass(frozen=True)
class World:
    users: dict[str, Account]
    #: The link waiting for review, and the ids of its two markets.
    proposed_link_id: int
    #: A finished backtest run, to compare a new one with.
    backtest_run_id: int
    #: A short window at the end of the stored ticks, so a backtest over it takes seconds.
    window: tuple[datetime, datetime]
    #: The analyst's paper account.
    paper_account_id: int


def _propose_link(engine: Engine) -> int:
    """Propose a link between two open markets on different venues not yet linked together."""
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        linked = {
            frozenset(pair)
            for pair in session.execute(select(MarketLink.market_a_id, MarketLink.market_b_id))
        }
        markets = session.scalars(
            select(Market)
            .where(Market.status == "open", Market.last_tick_at.is_not(None))
            .order_by(Market.id)
        ).all()
        a, b = next(
            (a, b)
            for a in markets
            for b in markets
            if a.venue < b.venue and frozenset((a.id, b.id)) not in linked
        )
        link = MarketLink(
            market_a_id=a.id,
            market_b_id=b.id,
            relation="same",
            confidence=0.58,
            status="proposed",
            source="matcher",
        )
        session.add(link)
        session.flush()
        return link.id


def _window(engine: Engine) -> tuple[datetime, datetime]:
    with session_scope(make_session_factory(engine)) as session:
        _, newest = tick_range(session)
    assert newest is not None
    end = newest.replace(second=0, microsecond=0)
    return end - BACKTEST_WINDOW, end


def _finished_backtest(engine: Engine, window: tuple[datetime, datetime]) -> int:
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        run = service.new_run(
            session, strategy=BACKTEST_STRATEGY, start=window[0], end=window[1], seed=3
        )
        run_id = run.id
    assert execute_queued_run(factory, run_id) == "succeeded"
    return run_id


def seed_world(settings: Settings, engine: Engine) -> World:
    pipelines = available_pipelines(settings)
    for name in ("ingest-sim", "generate-signals"):
        run = run_pipeline(name, pipelines[name].step, settings=settings, engine=engine)
        assert run.status == "succeeded", run.error
    accounts = {
        role: Account(f"{role}@edgewatch.test", f"{role}-password-for-browser-tests")
        for role in ("admin", "analyst", "viewer")
    }
    with session_scope(make_session_factory(engine)) as session:
        created = {
            role: users.create(
                session,
                email=account.email,
                role=role,
                actor="browser-tests",
                password=account.password,
                now=utcnow(),
            )
            for role, account in accounts.items()
        }
        paper = paper_service.create_account(
            session,
            paper_service.AccountSettings(name="Analyst's arbitrage book"),
            owner_id=created["analyst"].id,
            actor="browser-tests",
            now=utcnow(),
        )
        paper_account_id = paper.id
    window = _window(engine)
    return World(
        users=accounts,
        proposed_link_id=_propose_link(engine),
        backtest_run_id=_finished_backtest(engine, window),
        window=window,
        paper_account_id=paper_account_id,
    )
