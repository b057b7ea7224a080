"""API test fixtures: an app with its lifespan running, and a seeder writing real ORM rows."""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.exceptions import StarletteDeprecationWarning

from edgewatch.api.app import create_app
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.models import Market, MarketLink, OddsTick, PipelineRun, RejectedRecord, Signal

# Starlette warns that its test client prefers httpx2; the project pins httpx for now.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture(autouse=True)
def _release_log_streams() -> Iterator[None]:
    """Undo the app's logging set-up after each test.

    ``configure_logging`` binds the ``sys.stderr`` of the moment; under capsys that stream is
    closed when the test phase ends, and later log calls anywhere would fail on it.
    """
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


@pytest.fixture
def client_class(credentials: Callable[..., dict[str, str]]) -> type[TestClient]:
    """The test client for tests that build their own app: authenticated as an admin of the test
    database unless given ``headers`` (the import is warning-guarded)."""
    admin = credentials("admin")

    class AdminClient(TestClient):
        def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("headers", admin)
            super().__init__(app, *args, **kwargs)

    return AdminClient


@pytest.fixture
def api_app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(api_app: FastAPI, credentials: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    """A client of the running app, authenticated as an admin (an API key with every scope)."""
    with TestClient(api_app, headers=credentials("admin")) as client:
        yield client


@pytest.fixture
def client_as(
    client: TestClient, api_app: FastAPI, credentials: Callable[..., dict[str, str]]
) -> Callable[[str | None], TestClient]:
    """``client_as("viewer")``: another client of the same running app, as a new user of that role;
    ``client_as(None)`` sends no credentials."""

    def make(role: str | None) -> TestClient:
        return TestClient(api_app, headers=credentials(role) if role else {})

    return make


class Seeder:
    """Writes rows through the ORM and commits, so the app's own sessions see them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.now = utcnow().replace(microsecond=0)
        self._serial = itertools.count(1)

    def market(
        self,
        title: str = "Will it rain tomorrow?",
        *,
        venue: str = "kalshi",
        status: str = "open",
        quote: tuple[float, float, float] | None = None,
        tick_age: timedelta = timedelta(minutes=1),
        **fields: Any,
    ) -> Market:
        market = Market(
            venue=venue,
            venue_market_id=f"{venue.upper()}-{next(self._serial)}",
            title=title,
            status=status,
            **fields,
        )
        self.session.add(market)
        self.session.flush()
        if quote is not None:
            bid, ask, last = quote
            self.ticks(market, [(self.now - tick_age, bid, ask, last)])
        self.session.commit()
        return market

    def ticks(self, market: Market, rows: list[tuple[datetime, float, float, float]]) -> None:
        """Store ticks and move ``last_tick_at`` forward, as ingest does."""
        for tick_ts, bid, ask, last in rows:
            self.session.add(
                OddsTick(market_id=market.id, tick_ts=tick_ts, bid=bid, ask=ask, last=last)
            )
        newest = max(row[0] for row in rows)
        if market.last_tick_at is None or newest > market.last_tick_at:
            market.last_tick_at = newest
        self.session.commit()

    def link(self, a: Market, b: Market, **fields: Any) -> MarketLink:
        values: dict[str, Any] = {
            "relation": "same",
            "confidence": 0.9,
            "status": "confirmed",
            "source": "matcher",
        }
        link = MarketLink(market_a_id=a.id, market_b_id=b.id, **(values | fields))
        self.session.add(link)
        self.session.commit()
        return link

    def signal(self, market: Market, **fields: Any) -> Signal:
        serial = next(self._serial)
        values: dict[str, Any] = {
            "signal_ts": self.now,
            "strategy": "cross_venue_arbitrage",
            "strategy_version": "1",
            "side": "yes",
            "limit_price": 0.45,
            "size_hint": 10.0,
            "edge": 0.02,
            "confidence": 0.9,
            "expires_at": self.now + timedelta(minutes=5),
            "inputs": {"serial": serial},
            "dedupe_key": f"signal-{serial}",
        }
        signal = Signal(market_id=market.id, **(values | fields))
        self.session.add(signal)
        self.session.commit()
        return signal

    def run(self, pipeline: str = "ingest", **fields: Any) -> PipelineRun:
        values: dict[str, Any] = {
            "status": "succeeded",
            "started_at": self.now - timedelta(seconds=30),
            "finished_at": self.now - timedelta(seconds=20),
            "rows_in": 10,
            "rows_stored": 9,
            "rows_rejected": 1,
        }
        run = PipelineRun(pipeline=pipeline, **(values | fields))
        self.session.add(run)
        self.session.commit()
        return run

    def rejected(
        self, *, venue: str = "kalshi", reason: str = "crossed_quote", **fields: Any
    ) -> RejectedRecord:
        values: dict[str, Any] = {"kind": "tick", "payload": '{"bid": 0.6, "ask": 0.5}'}
        record = RejectedRecord(venue=venue, reason=reason, **(values | fields))
        self.session.add(record)
        self.session.commit()
        return record


@pytest.fixture
def seed(session: Session) -> Seeder:
    return Seeder(session)
