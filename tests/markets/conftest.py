"""Fixtures for the links tests: markets on two venues, written through the ORM and committed."""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.exceptions import StarletteDeprecationWarning

from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.models import Market, MarketLink, OddsTick

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

CLOSE = datetime(2026, 3, 11, 16, tzinfo=UTC)


class Catalogue:
    """Creates markets and links and commits, so other sessions (app, CLI, pipeline) see them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._serial = itertools.count(1)

    def market(self, title: str, *, venue: str, **fields: Any) -> Market:
        values: dict[str, Any] = {"status": "open", "close_time": CLOSE}
        market = Market(
            venue=venue,
            venue_market_id=fields.pop("venue_market_id", f"{venue}-{next(self._serial)}"),
            title=title,
            **(values | fields),
        )
        self.session.add(market)
        self.session.commit()
        return market

    def quote(self, market: Market, bid: float, ask: float) -> None:
        self.session.add(OddsTick(market_id=market.id, tick_ts=CLOSE, bid=bid, ask=ask, last=bid))
        market.last_tick_at = CLOSE
        self.session.commit()

    def link(self, a: Market, b: Market, **fields: Any) -> MarketLink:
        values: dict[str, Any] = {
            "relation": "same",
            "confidence": 0.8,
            "status": "proposed",
            "source": "matcher",
        }
        link = MarketLink(market_a_id=a.id, market_b_id=b.id, **(values | fields))
        self.session.add(link)
        self.session.commit()
        return link

    def bitcoin_pair(self) -> tuple[Market, Market]:
        kalshi = self.market(
            "Bitcoin price above $64,000 on Mar 11, 2026?",
            venue="kalshi",
            venue_market_id="KXBTCD-26MAR11-T64000",
            category="Crypto",
            rules="If the BTC price is above 64,000 at noon ET on Mar 11, 2026, resolves Yes.",
        )
        poly = self.market(
            "Will the price of Bitcoin be above $64,000 on March 11?",
            venue="polymarket",
            venue_market_id="825553650639",
            category="Bitcoin",
        )
        return kalshi, poly


@pytest.fixture(autouse=True)
def _release_log_streams() -> Iterator[None]:
    """Undo the app's logging set-up (it binds the stderr of the moment, which capsys closes)."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


@pytest.fixture
def catalogue(session: Session) -> Catalogue:
    return Catalogue(session)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI, credentials: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(app, headers=credentials("admin")) as client:
        yield client
