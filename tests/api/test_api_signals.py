from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _ids(client: TestClient, **params: Any) -> list[int]:
    response = client.get("/api/v1/signals", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.both_backends
def test_signals_page_newest_first_without_gaps(client: TestClient, seed: Any) -> None:
    market = seed.market("Arb target", quote=(0.4, 0.5, 0.45))
    ids = [seed.signal(market).id for _ in range(5)]

    first = client.get("/api/v1/signals", params={"limit": 2}).json()
    second = client.get("/api/v1/signals", params={"limit": 2, "cursor": first["next_cursor"]})
    third = client.get(
        "/api/v1/signals", params={"limit": 2, "cursor": second.json()["next_cursor"]}
    ).json()

    pages = [first["items"], second.json()["items"], third["items"]]
    assert [item["id"] for page in pages for item in page] == ids[::-1]
    assert third["next_cursor"] is None
    item = first["items"][0]
    assert item["market_title"] == "Arb target" and item["venue"] == "kalshi"
    assert item["side"] == "yes" and item["edge"] == 0.02
    assert item["inputs"] == {"serial": item["inputs"]["serial"]}


def test_signal_filters(client: TestClient, seed: Any) -> None:
    kalshi = seed.market("K", venue="kalshi")
    poly = seed.market("P", venue="polymarket")
    old = seed.signal(kalshi, signal_ts=seed.now - timedelta(days=2), confidence=0.5)
    strong = seed.signal(kalshi, edge=0.08, confidence=0.95)
    other_strategy = seed.signal(poly, strategy="mean_reversion", edge=0.01)

    assert _ids(client, strategy="mean_reversion") == [other_strategy.id]
    assert _ids(client, market_id=kalshi.id) == [strong.id, old.id]
    assert _ids(client, venue="polymarket") == [other_strategy.id]
    assert _ids(client, min_confidence=0.9) == [other_strategy.id, strong.id]
    assert _ids(client, min_edge=0.05) == [strong.id]
    since = (seed.now - timedelta(days=1)).isoformat()
    assert _ids(client, since=since) == [other_strategy.id, strong.id]
    assert _ids(client, until=since) == [old.id]


def test_signal_window_must_not_be_reversed(client: TestClient, problem: Any) -> None:
    response = client.get(
        "/api/v1/signals",
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    )
    problem(response, status=422, code="validation-error")
