"""GET /api/v1/disclaimers: public, versioned, and saying what a user of the data must know."""

from __future__ import annotations

from typing import Any

from edgewatch.api.disclaimers import DISCLAIMERS


def test_disclaimers_are_public_and_versioned(client_as: Any) -> None:
    response = client_as(None).get("/api/v1/disclaimers")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == DISCLAIMERS.version
    assert body["effective"] == DISCLAIMERS.version
    assert response.headers["cache-control"] == "public, max-age=3600"


def test_disclaimers_cover_advice_past_performance_and_risk(client: Any) -> None:
    items = {item["id"]: item for item in client.get("/api/v1/disclaimers").json()["items"]}

    assert {"not-financial-advice", "past-performance", "risk-disclosure"} <= set(items)
    assert "not financial" in items["not-financial-advice"]["text"].lower()
    assert "past performance is not indicative" in items["past-performance"]["text"].lower()
    risk = items["risk-disclosure"]["text"].lower()
    for topic in ("fees", "liquidity", "venues", "regulated"):
        assert topic in risk, topic
    assert all(item["title"] and len(item["text"]) > 80 for item in items.values())
