from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_documents_every_route_with_a_summary(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    expected = {
        "/health",
        "/health/ready",
        "/metrics",
        "/api/v1/markets",
        "/api/v1/markets/{market_id}",
        "/api/v1/markets/{market_id}/ticks",
        "/api/v1/signals",
        "/api/v1/pipelines",
        "/api/v1/quarantine",
    }
    assert expected <= set(spec["paths"])
    for path in expected:
        assert spec["paths"][path]["get"]["summary"], path
    errors = spec["paths"]["/api/v1/markets/{market_id}"]["get"]["responses"]
    assert "application/problem+json" in errors["404"]["content"]


def test_interactive_docs_are_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
