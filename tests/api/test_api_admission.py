"""Admission control: a bounded number of requests in flight, a line for the rest, 503s past the
queue timeout, and no thread/connection deadlock when requests outnumber database connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.markets import repository
from edgewatch.observability.metrics import REQUESTS_IN_FLIGHT, REQUESTS_SHED


@pytest.fixture
def slow_markets(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Make the markets list hold its database connection for a while, as a slow query would;
    returns the setter of how long."""
    original = repository.list_markets
    hold = [0.0]

    def slow(session: Any, **kwargs: Any) -> Any:
        rows = original(session, **kwargs)  # the connection is checked out from here on
        time.sleep(hold[0])
        return rows

    def set_hold(seconds: float) -> None:
        hold[0] = seconds

    monkeypatch.setattr(repository, "list_markets", slow)
    return set_hold


def _get_all(client: TestClient, paths: list[str]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(client.get, paths))


def test_requests_beyond_the_limit_wait_then_get_a_503_while_liveness_answers(
    settings: Settings,
    client_class: type[TestClient],
    slow_markets: Callable[[float], None],
    problem: Any,
) -> None:
    app = create_app(
        settings.model_copy(
            update={
                "rate_limit_enabled": False,
                "max_concurrent_requests": 2,
                "request_queue_timeout_seconds": 0.5,
            }
        )
    )
    slow_markets(2.0)
    shed_before = REQUESTS_SHED._value.get()
    with client_class(app) as client:
        health: list[int] = []

        def probe_liveness() -> None:
            time.sleep(0.3)  # while both slots are taken
            health.append(client.get("/health").status_code)

        prober = threading.Thread(target=probe_liveness)
        prober.start()
        responses = _get_all(client, [f"/api/v1/markets?limit={n}" for n in range(1, 5)])
        prober.join()

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200, 503, 503]
    refused = [response for response in responses if response.status_code == 503]
    for response in refused:
        assert problem(response, status=503, code="overloaded")["detail"].startswith(
            "The server is busy"
        )
        assert response.headers["retry-after"] == "1"
    assert health == [200]
    assert REQUESTS_SHED._value.get() == shed_before + 2
    assert REQUESTS_IN_FLIGHT._value.get() == 0


def test_many_more_requests_than_connections_all_complete(
    settings: Settings, client_class: type[TestClient], slow_markets: Callable[[float], None]
) -> None:
    """80 requests at once, each holding one of the 20 pooled connections for 0.2 s: without
    admission control every worker thread ended up waiting for a connection held by a request
    that waited for a thread, until the pool timed out (500s)."""
    app = create_app(settings.model_copy(update={"rate_limit_enabled": False}))
    slow_markets(0.2)
    with client_class(app) as client:
        responses = _get_all(client, [f"/api/v1/markets?limit={n % 50 + 1}" for n in range(80)])

    assert [r.status_code for r in responses if r.status_code != 200] == []
