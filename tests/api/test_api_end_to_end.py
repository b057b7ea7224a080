"""The API over data written by the real pipelines: embedded scheduler, simulator, signals."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edgewatch.api.app import create_app
from edgewatch.config import Settings


def _wait_for_signals(client: TestClient, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/api/v1/signals", params={"limit": 1}).json()["items"]:
            return
        time.sleep(0.25)
    raise AssertionError("the embedded scheduler wrote no signal in time")


@pytest.mark.both_backends
def test_api_and_dashboard_serve_what_the_pipelines_wrote(
    settings: Settings, client_class: type[TestClient]
) -> None:
    live = settings.model_copy(update={"embedded_scheduler": True, "sources": ["sim"]})

    with client_class(create_app(live)) as client:
        _wait_for_signals(client)
        runs = client.get("/api/v1/pipelines").json()["items"]
        markets = client.get("/api/v1/markets", params={"status": "open", "limit": 5}).json()
        market: dict[str, Any] = markets["items"][0]
        ticks = client.get(f"/api/v1/markets/{market['id']}/ticks", params={"limit": 3}).json()
        ready = client.get("/health/ready")
        page = client.get("/").text
        market_page = client.get(f"/markets/{market['id']}").text

    assert {run["pipeline"] for run in runs if run["status"] == "succeeded"}
    assert market["bid"] is not None and market["last_tick_at"] is not None
    assert len(ticks["items"]) == 3 and ticks["next_cursor"]
    assert ready.status_code == 200, ready.text
    assert market["title"] in market_page
    assert "No signals yet" not in page
