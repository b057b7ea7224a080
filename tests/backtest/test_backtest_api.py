"""``/api/v1/backtests``: queue a run, follow it, read its ledger and equity curve."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import structlog
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from edgewatch.api.app import create_app
from edgewatch.backtest import service, tasks
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.models.backtest import BacktestRun

from .test_backtest_service import END, ingest_sim

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

FINISHED = {"succeeded", "failed", "cancelled"}


@pytest.fixture(autouse=True)
def _release_log_streams() -> Iterator[None]:
    """The app's logging set-up binds the stderr of the moment; undo it after each test."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


@pytest.fixture
def client(
    settings: Settings,
    session_factory: sessionmaker[Session],
    credentials: Callable[..., dict[str, str]],
) -> Iterator[TestClient]:
    ingest_sim(session_factory)
    with TestClient(create_app(settings), headers=credentials("analyst")) as client:
        yield client


def wait_for(client: TestClient, run_id: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/backtests/{run_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in FINISHED or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def queue(client: TestClient, **body: Any) -> int:
    request = {"strategy": "mean_reversion", "seed": 4, "settings": {"step_seconds": 120}}
    response = client.post("/api/v1/backtests", json=request | body)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    run_id: int = response.json()["run_id"]
    return run_id


@pytest.mark.both_backends
def test_a_queued_backtest_runs_and_serves_its_trades_and_equity(client: TestClient) -> None:
    run_id = queue(client)
    run = wait_for(client, run_id)
    assert run["status"] == "succeeded", run
    assert run["progress"] == 1.0
    assert run["settings"]["step_seconds"] == 120
    assert run["metrics"]["seed"] == 4 and run["pnl"] == run["metrics"]["pnl"]
    assert run["data_fingerprint"] and run["code_version"]
    fills = run["summary"]["fills"]
    assert fills > 0

    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/api/v1/backtests/{run_id}/trades", params=params)
        assert page.status_code == 200, page.text
        entries += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    assert sum(1 for e in entries if e["kind"] == "fill") == fills
    assert all(e["side"] in ("yes", "no") for e in entries)
    first_fill = next(e for e in entries if e["kind"] == "fill")
    assert first_fill["action"] == "buy" and "." in first_fill["price"]

    curve = client.get(f"/api/v1/backtests/{run_id}/equity").json()
    assert curve["total_points"] == len(curve["points"]) > 2
    assert curve["points"][0]["ts"] < curve["points"][-1]["ts"]
    thinned = client.get(f"/api/v1/backtests/{run_id}/equity", params={"max_points": 2}).json()
    assert [p["ts"] for p in thinned["points"]] == [
        curve["points"][0]["ts"],
        curve["points"][-1]["ts"],
    ]

    listed = client.get("/api/v1/backtests").json()
    assert [item["id"] for item in listed["items"]] == [run_id]
    assert listed["items"][0]["status"] == "succeeded"


def test_runs_list_newest_first_in_pages(client: TestClient) -> None:
    ids = [queue(client, seed=seed) for seed in range(3)]
    for run_id in ids:
        wait_for(client, run_id)
    first = client.get("/api/v1/backtests", params={"limit": 2}).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    second = client.get(
        "/api/v1/backtests", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [item["id"] for item in second["items"]] == ids[:1]
    assert second["next_cursor"] is None
    only = client.get("/api/v1/backtests", params={"status": "failed"}).json()
    assert only["items"] == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"strategy": "nope"}, "unknown strategy 'nope'"),
        ({"strategy": "momentum", "params": {"bogus": 1}}, "unknown parameter"),
        ({"strategy": "momentum", "settings": {"slippage": -1}}, "settings.slippage"),
        ({"strategy": "momentum", "surprise": True}, "surprise"),
        (
            {"strategy": "momentum", "start": "2026-06-02T00:00:00Z", "end": "2026-06-01T00:00Z"},
            "end must not be earlier than start",
        ),
    ],
)
def test_invalid_requests_are_problems(
    client: TestClient, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/api/v1/backtests", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.text


def test_an_empty_window_fails_the_run_with_its_reason(client: TestClient) -> None:
    later = (END + timedelta(days=1)).isoformat()
    run_id = queue(client, start=later)
    run = wait_for(client, run_id)
    assert run["status"] == "failed"
    assert "no ticks" in run["error"]


def test_unknown_runs_are_404_and_finished_runs_cannot_be_cancelled(client: TestClient) -> None:
    assert client.get("/api/v1/backtests/999").status_code == 404
    assert client.get("/api/v1/backtests/999/trades").status_code == 404
    assert client.get("/api/v1/backtests/999/equity").status_code == 404
    assert client.post("/api/v1/backtests/999/cancel").status_code == 404
    run_id = queue(client)
    wait_for(client, run_id)
    refused = client.post(f"/api/v1/backtests/{run_id}/cancel")
    assert refused.status_code == 409
    assert "already succeeded" in refused.json()["detail"]


def test_cancel_stops_a_queued_run_before_it_starts(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        run_id = service.new_run(session, strategy="momentum", start=None, end=None).id
    response = client.post(f"/api/v1/backtests/{run_id}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    assert tasks.execute_queued_run(session_factory, run_id) == "cancelled"


def test_a_cancel_requested_while_running_stops_the_replay(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_sim(session_factory)
    with session_scope(session_factory) as session:
        run = service.new_run(session, strategy="mean_reversion", start=None, end=None)
        run_id = run.id
    real_execute = tasks.execute

    def cancel_then_execute(**kwargs: Any) -> Any:
        with session_scope(session_factory) as session:
            session.get_one(BacktestRun, run_id).cancel_requested = True
        kwargs["hooks"].poll_seconds = 0.0
        return real_execute(**kwargs)

    monkeypatch.setattr(tasks, "execute", cancel_then_execute)
    assert tasks.execute_queued_run(session_factory, run_id) == "cancelled"
    with session_scope(session_factory) as session:
        stored = session.get_one(BacktestRun, run_id)
        assert stored.status == "cancelled" and stored.finished_at is not None
        assert stored.metrics == {}
