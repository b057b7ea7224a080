"""Liveness and readiness."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edgewatch.api import health
from edgewatch.api.app import create_app
from edgewatch.config import Settings


def _checks(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in body["checks"]}


@pytest.mark.both_backends
def test_liveness(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.both_backends
def test_ready_with_fresh_data_and_healthy_pipelines(client: TestClient, seed: Any) -> None:
    seed.market("Fresh", quote=(0.4, 0.5, 0.45), tick_age=timedelta(minutes=5))
    seed.run("ingest")
    seed.run("signals")

    response = client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True and body["status"] == "ok"
    checks = _checks(body)
    assert list(checks) == [
        "database",
        "pipelines",
        "data_freshness",
        "data_quality",
        "venues",
        "redis",
        "models",
    ]
    assert checks["redis"]["status"] == "ok" and not checks["redis"]["required"]
    assert all(set(check) == {"name", "status", "required", "detail"} for check in body["checks"])
    assert checks["database"]["required"]
    assert not checks["data_freshness"]["required"] and not checks["pipelines"]["required"]
    assert "ingest: succeeded" in checks["pipelines"]["detail"]
    assert "signals: succeeded" in checks["pipelines"]["detail"]
    assert checks["models"] == {
        "name": "models",
        "status": "ok",
        "required": False,
        "detail": "no probability models are required by the enabled strategies",
    }
    metrics = client.get("/metrics").text
    assert 'edgewatch_data_age_seconds{venue="kalshi"}' in metrics
    assert 'edgewatch_readiness_status{check="database"} 1.0' in metrics


def test_no_data_yet_is_a_warning_not_a_failure(client: TestClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    freshness = _checks(body)["data_freshness"]
    assert freshness["status"] == "warn" and "no data yet" in freshness["detail"]


@pytest.mark.both_backends
def test_stale_data_is_reported_but_the_instance_stays_ready(client: TestClient, seed: Any) -> None:
    seed.market("Fresh", venue="polymarket", quote=(0.4, 0.5, 0.45))
    seed.market("Old", venue="kalshi", quote=(0.4, 0.5, 0.45), tick_age=timedelta(hours=7))

    response = client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True and body["status"] == "degraded"
    freshness = _checks(body)["data_freshness"]
    assert freshness["status"] == "fail"
    assert "kalshi" in freshness["detail"].split(";")[0]
    assert "polymarket" not in freshness["detail"].split(";")[0]


def test_a_failed_last_run_warns_but_stays_ready(client: TestClient, seed: Any) -> None:
    seed.market("Fresh", quote=(0.4, 0.5, 0.45))
    seed.run("ingest", status="succeeded", started_at=seed.now - timedelta(minutes=10))
    seed.run("ingest", status="failed", error="venue timed out")
    seed.run("signals")

    response = client.get("/health/ready")

    assert response.status_code == 200
    pipelines = _checks(response.json())["pipelines"]
    assert pipelines["status"] == "warn"
    assert "ingest: failed" in pipelines["detail"]


def test_unreachable_database_is_unready_without_hanging(
    tmp_path: Path, client_class: type[TestClient]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=f"postgresql://postgres@127.0.0.1:{port}/edgewatch",
        secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
    )

    with client_class(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        started = time.monotonic()
        response = client.get("/health/ready")
        elapsed = time.monotonic() - started
        api = client.get("/api/v1/markets")

    assert elapsed < 5
    assert response.status_code == 503
    checks = _checks(response.json())
    assert checks["database"]["status"] == "fail"
    assert checks["data_freshness"]["status"] == "fail"
    assert api.status_code == 503
    assert api.json()["type"] == "https://edgewatch.dev/problems/database-unavailable"


def test_database_check_gives_up_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    class BlackHoleEngine:
        def connect(self) -> None:
            time.sleep(1)
            raise ConnectionError("never answered")

    monkeypatch.setattr(health, "DATABASE_CHECK_SECONDS", 0.1)
    started = time.monotonic()

    check = health.check_database(
        engine=BlackHoleEngine(),  # type: ignore[arg-type]
        url="postgresql://unused",
        migration=health.MigrationState(done=True),
    )

    assert time.monotonic() - started < 0.8
    assert check.status == "fail" and check.required
    assert check.detail == "no answer within 0.1 s"
