"""The job monitor and the trigger: ``GET /api/v1/pipelines`` and ``POST …/{name}/runs``."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from celery_worker import REDIS_TEST_URL, redis_url
from edgewatch.api.app import create_app
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.jobs.celery_app import PIPELINES_QUEUE
from edgewatch.models import PipelineRun

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

REDIS_DB = 14


@pytest.fixture
def open_client(
    credentials: Callable[..., dict[str, str]],
) -> Iterator[Callable[[Settings], TestClient]]:
    clients: list[TestClient] = []

    def make(settings: Settings) -> TestClient:
        client = TestClient(create_app(settings), headers=credentials("admin"))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _runs(factory: sessionmaker[Session]) -> list[PipelineRun]:
    with session_scope(factory) as session:
        return list(session.scalars(select(PipelineRun).order_by(PipelineRun.id)))


def test_without_a_broker_a_triggered_run_runs_in_process(
    settings: Settings,
    session_factory: sessionmaker[Session],
    open_client: Callable[[Settings], TestClient],
) -> None:
    client = open_client(settings)
    response = client.post("/api/v1/pipelines/ingest-sim/runs")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["executor"] == "in-process"
    assert body["run"]["status"] == "queued"
    # The test client runs background tasks before returning: the run has finished.
    [run] = _runs(session_factory)
    assert (run.id, run.status) == (body["run"]["id"], "succeeded")
    assert run.rows_stored > 0 and "queued_at" in run.details

    listing = client.get("/api/v1/pipelines").json()
    assert listing["items"][0]["id"] == run.id
    assert listing["items"][0]["duration_seconds"] >= 0
    assert listing["queue"] == {"broker": "none", "available": True, "depths": {}}
    [summary] = listing["summary"]
    assert summary["pipeline"] == "ingest-sim"
    assert summary["runs"] == 1 and summary["by_status"] == {"succeeded": 1}
    assert summary["last_status"] == "succeeded"
    assert summary["p95_duration_seconds"] == summary["max_duration_seconds"] is not None


def test_an_unknown_pipeline_is_a_404_and_records_nothing(
    settings: Settings,
    session_factory: sessionmaker[Session],
    open_client: Callable[[Settings], TestClient],
) -> None:
    response = open_client(settings).post("/api/v1/pipelines/no-such-thing/runs")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "no pipeline named 'no-such-thing'" in response.json()["detail"]
    assert _runs(session_factory) == []


def test_triggering_needs_the_pipelines_run_scope(
    settings: Settings, credentials: Callable[..., dict[str, Any]]
) -> None:
    with TestClient(create_app(settings), headers=credentials("viewer")) as viewer:
        assert viewer.get("/api/v1/pipelines").status_code == 200
        assert viewer.post("/api/v1/pipelines/ingest-sim/runs").status_code == 403


@pytest.mark.skipif(not REDIS_TEST_URL, reason="needs EDGEWATCH_TEST_REDIS_URL")
def test_with_a_broker_a_trigger_queues_a_task_that_names_its_run(
    settings: Settings,
    session_factory: sessionmaker[Session],
    open_client: Callable[[Settings], TestClient],
) -> None:
    broker = redis_url(REDIS_DB)  # emptied; no worker consumes it
    client = open_client(settings.model_copy(update={"redis_url": broker}))
    response = client.post("/api/v1/pipelines/match-markets/runs")
    assert response.status_code == 202, response.text
    assert response.json()["executor"] == "celery"
    [run] = _runs(session_factory)
    assert run.status == "queued"

    listing = client.get("/api/v1/pipelines", params={"status": "queued"}).json()
    assert [item["id"] for item in listing["items"]] == [run.id]
    assert listing["items"][0]["duration_seconds"] is None
    assert listing["queue"] == {
        "broker": "redis",
        "available": True,
        "depths": {"pipelines": 1, "backtests": 0},
    }
    message = redis.Redis.from_url(broker).lindex(PIPELINES_QUEUE, 0)
    assert message is not None and b"edgewatch.pipelines.run" in message
    metrics = client.get("/metrics").text
    assert 'edgewatch_queue_depth{queue="pipelines"} 1.0' in metrics


@pytest.mark.skipif(not REDIS_TEST_URL, reason="needs EDGEWATCH_TEST_REDIS_URL")
def test_when_the_broker_is_down_the_trigger_says_so_and_the_run_is_skipped(
    settings: Settings,
    session_factory: sessionmaker[Session],
    open_client: Callable[[Settings], TestClient],
) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    client = open_client(down)
    started = time.monotonic()
    response = client.post("/api/v1/pipelines/match-markets/runs")
    assert response.status_code == 503
    assert response.json()["type"].endswith("temporarily-unavailable")
    assert time.monotonic() - started < 10, "a dead broker must not hang the request"
    [run] = _runs(session_factory)
    assert run.status == "skipped" and (run.error or "").startswith("could not reach the broker")
    listing = client.get("/api/v1/pipelines").json()
    assert listing["queue"] == {"broker": "redis", "available": False, "depths": {}}


def test_the_summary_counts_only_the_last_24_hours(
    settings: Settings,
    session_factory: sessionmaker[Session],
    open_client: Callable[[Settings], TestClient],
) -> None:
    now = utcnow()
    with session_scope(session_factory) as session:
        for age_hours, status, seconds in [
            (30, "failed", 9),
            (2, "failed", 4),
            (1, "succeeded", 2),
        ]:
            started = now - timedelta(hours=age_hours)
            session.add(
                PipelineRun(
                    pipeline="p",
                    status=status,
                    started_at=started,
                    finished_at=started + timedelta(seconds=seconds),
                )
            )
    [summary] = open_client(settings).get("/api/v1/pipelines").json()["summary"]
    assert summary["runs"] == 2
    assert summary["by_status"] == {"failed": 1, "succeeded": 1}
    assert summary["mean_duration_seconds"] == pytest.approx(3.0)
    assert summary["max_duration_seconds"] == pytest.approx(4.0)
    assert summary["last_status"] == "succeeded"
