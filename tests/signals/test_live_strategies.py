"""Live strategies are configuration: arbitrage always, model edge when a model is set."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.errors import NotFound
from edgewatch.signals.tasks import live_strategies


def test_arbitrage_runs_live_by_default(settings: Settings) -> None:
    assert [strategy.name for strategy in live_strategies(settings)] == ["cross_venue_arbitrage"]


def test_a_configured_model_that_does_not_exist_fails_loudly(settings: Settings) -> None:
    configured = settings.model_copy(update={"signal_model": "favourites"})
    with pytest.raises(NotFound, match="favourites"):
        live_strategies(configured)


def test_readiness_warns_when_the_configured_model_is_missing(settings: Settings) -> None:
    configured = settings.model_copy(update={"signal_model": "favourites"})
    with TestClient(create_app(configured)) as client:
        body = client.get("/health/ready").json()
    models = next(check for check in body["checks"] if check["name"] == "models")
    assert models["status"] == "warn" and "favourites" in models["detail"]
