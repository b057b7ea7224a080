"""The scoring routes, mounted on the real app."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import structlog
from sqlalchemy.orm import Session
from starlette.exceptions import StarletteDeprecationWarning

from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.models import Market, Signal

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _release_log_streams() -> Iterator[None]:
    # The app's logging set-up binds the stderr of the moment; capture closes it after the test.
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


@pytest.fixture
def client(settings: Settings, credentials: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=credentials("admin")) as client:
        yield client


def seed(session: Session, count: int) -> list[int]:
    market = Market(
        venue="kalshi",
        venue_market_id="K-1",
        title="Will it happen?",
        status="resolved",
        resolution="yes",
        resolved_at=T0 + timedelta(hours=1),
        fee_schedule="kalshi",
        fee_multiplier=Decimal(1),
    )
    session.add(market)
    session.flush()
    ids = []
    for i in range(count):
        values: dict[str, Any] = {
            "signal_ts": T0 + timedelta(minutes=i),
            "strategy": "momentum",
            "strategy_version": "1",
            "side": "yes",
            "limit_price": 0.40,
            "size_hint": 100.0,
            "edge": 0.05,
            "confidence": 0.7,
            "expires_at": T0 + timedelta(hours=2),
            "inputs": {"fair_value": 0.5},
            "dedupe_key": f"api-{i}",
        }
        signal = Signal(market_id=market.id, **values)
        session.add(signal)
        session.flush()
        ids.append(signal.id)
    session.commit()
    return ids


def test_scores_page_through_newest_first(client: TestClient, session: Session) -> None:
    ids = seed(session, 3)
    first = client.get("/api/v1/signals/scores", params={"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert [item["signal_id"] for item in body["items"]] == [ids[2], ids[1]]
    assert body["items"][0]["realised_edge"] == pytest.approx(1 - 0.40 - 0.0168)
    assert body["items"][0]["brier"] == pytest.approx(0.25)
    second = client.get(
        "/api/v1/signals/scores", params={"limit": 2, "cursor": body["next_cursor"]}
    ).json()
    assert [item["signal_id"] for item in second["items"]] == [ids[0]]
    assert second["next_cursor"] is None


def test_scores_filter_by_strategy_and_since(client: TestClient, session: Session) -> None:
    ids = seed(session, 3)
    since = (T0 + timedelta(minutes=1)).isoformat()
    body = client.get("/api/v1/signals/scores", params={"since": since}).json()
    assert [item["signal_id"] for item in body["items"]] == [ids[2], ids[1]]
    other = client.get("/api/v1/signals/scores", params={"strategy": "momentum_x"}).json()
    assert other["items"] == []


def test_strategy_calibration_route(client: TestClient, session: Session) -> None:
    seed(session, 2)
    response = client.get("/api/v1/strategies/momentum/calibration", params={"bins": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["signals"] == 2
    assert body["brier"] == pytest.approx(0.25)
    assert body["brier_market"] == pytest.approx(0.36)
    assert body["brier_advantage"] == pytest.approx(0.11)
    assert len(body["buckets"]) == 5
    assert sum(bucket["count"] for bucket in body["buckets"]) == 2


def test_calibration_of_a_strategy_without_scored_signals_is_empty(client: TestClient) -> None:
    body = client.get("/api/v1/strategies/model_edge/calibration").json()
    assert body["signals"] == 0 and body["brier"] is None


def test_unknown_strategy_and_bad_cursor_are_problems(client: TestClient) -> None:
    missing = client.get("/api/v1/strategies/nope/calibration")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    bad = client.get("/api/v1/signals/scores", params={"cursor": "!!"})
    assert bad.status_code == 422


def test_openapi_documents_the_scoring_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/signals/scores", "/api/v1/strategies/{name}/calibration"):
        assert paths[path]["get"]["summary"], path
    errors = paths["/api/v1/strategies/{name}/calibration"]["get"]["responses"]
    assert "application/problem+json" in errors["404"]["content"]
