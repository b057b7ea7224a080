"""Request id, the access log line and HTTP metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edgewatch.api.app import create_app
from edgewatch.config import Settings


def _log_lines(err: str) -> list[dict[str, Any]]:
    lines = []
    for line in err.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.mark.both_backends
def test_a_sane_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "abc-123.def"})
    assert response.headers["x-request-id"] == "abc-123.def"


def test_a_request_id_is_generated_when_missing_or_unsafe(client: TestClient) -> None:
    generated = client.get("/health").headers["x-request-id"]
    replaced = client.get("/health", headers={"X-Request-ID": "two words"}).headers
    too_long = client.get("/health", headers={"X-Request-ID": "x" * 200}).headers

    assert len(generated) == 32
    assert replaced["x-request-id"] != "two words" and len(replaced["x-request-id"]) == 32
    assert too_long["x-request-id"] != "x" * 200


def test_each_request_logs_one_json_line_with_its_id(
    settings: Settings, client_class: type[TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    # The app starts inside the test so its logging writes to the stderr capsys captures.
    with client_class(create_app(settings)) as client:
        client.get("/api/v1/markets/42", headers={"X-Request-ID": "trace-me-42"})

    lines = [line for line in _log_lines(capsys.readouterr().err) if line["event"] == "request"]

    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "trace-me-42"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/markets/42", 404)
    assert line["route"] == "/api/v1/markets/{market_id}"
    assert line["duration_ms"] >= 0


def test_metrics_label_requests_by_route_template(client: TestClient) -> None:
    client.get("/api/v1/markets/123456")
    client.get("/api/v1/markets/654321")
    client.get("/definitely/not/here")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'edgewatch_http_requests_total{method="GET",route="/api/v1/markets/{market_id}",'
        'status="404"}' in text
    )
    assert "123456" not in text
    assert 'route="unmatched"' in text
    assert "edgewatch_http_request_duration_seconds_bucket" in text
