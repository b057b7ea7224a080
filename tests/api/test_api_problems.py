"""Every error is an RFC 9457 problem document, never HTML."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edgewatch.accounts.access import ROUTE_ACCESS
from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.errors import Conflict, DatabaseUnavailable, InvalidInput
from edgewatch.observability.logging import get_logger


@pytest.fixture
def app(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    app = create_app(settings)
    for path in ("conflict", "bad-input", "database-down", "crash", "chatty"):
        monkeypatch.setitem(ROUTE_ACCESS, ("GET", f"/test/{path}"), "read")

    def conflict() -> None:
        raise Conflict("That run is already settled.")

    def bad_input() -> None:
        raise InvalidInput("The file has no header row.")

    def database_down() -> None:
        raise DatabaseUnavailable("connection to 10.0.0.5 refused: password=hunter2")

    def crash() -> None:
        raise RuntimeError("internal detail: /srv/secret/path")

    app.add_api_route("/test/conflict", conflict)
    app.add_api_route("/test/bad-input", bad_input)
    app.add_api_route("/test/database-down", database_down)

    def chatty() -> dict[str, str]:
        get_logger("edgewatch.test").info("inside the route")
        return {}

    app.add_api_route("/test/crash", crash)
    app.add_api_route("/test/chatty", chatty)
    return app


@pytest.fixture
def app_client(app: FastAPI, client_class: type[TestClient]) -> Any:
    with client_class(app) as client:
        yield client


@pytest.mark.both_backends
def test_unknown_route_is_a_404_problem(client: TestClient, problem: Any) -> None:
    body = problem(client.get("/no/such/page"), status=404, code="not-found")
    assert body["instance"] == "/no/such/page"


def test_wrong_method_is_a_405_problem_with_allow(client: TestClient, problem: Any) -> None:
    response = client.post("/api/v1/markets")
    problem(response, status=405, code="method-not-allowed")
    assert "GET" in response.headers["allow"]


def test_validation_problem_lists_every_bad_field(client: TestClient, problem: Any) -> None:
    response = client.get("/api/v1/signals", params={"limit": 0, "min_confidence": 2})
    body = problem(response, status=422, code="validation-error")
    assert sorted(tuple(error["loc"]) for error in body["errors"]) == [
        ("query", "limit"),
        ("query", "min_confidence"),
    ]
    assert all(error["msg"] and error["type"] for error in body["errors"])
    assert "query.limit" in body["detail"]


def test_edgewatch_errors_map_by_status_and_code(app_client: TestClient, problem: Any) -> None:
    body = problem(app_client.get("/test/conflict"), status=409, code="conflict")
    assert body["detail"] == "That run is already settled."
    problem(app_client.get("/test/bad-input"), status=422, code="invalid-input")


def test_server_side_errors_do_not_leak_their_message(app_client: TestClient, problem: Any) -> None:
    body = problem(app_client.get("/test/database-down"), status=503, code="database-unavailable")
    assert "hunter2" not in body["detail"] and "10.0.0.5" not in body["detail"]


def test_unhandled_exception_is_a_500_problem_and_is_logged(
    app: FastAPI, client_class: type[TestClient], problem: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The app starts inside the test so its logging writes to the stderr capsys captures.
    with client_class(app) as client:
        response = client.get("/test/crash", headers={"X-Request-ID": "crash-1"})

    body = problem(response, status=500, code="internal-error")
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert body["request_id"] == "crash-1"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    logged = next(line for line in lines if line["event"] == "unhandled error")
    assert logged["request_id"] == "crash-1"
    assert "RuntimeError: internal detail" in logged["exception"]  # the traceback is logged


def test_lines_logged_inside_a_route_carry_the_request_id(
    app: FastAPI, client_class: type[TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    with client_class(app) as client:
        client.get("/test/chatty", headers={"X-Request-ID": "chatty-1"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    inside = next(line for line in lines if line["event"] == "inside the route")
    assert inside["request_id"] == "chatty-1"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/markets/99999999999999999999", ["path", "market_id"]),
        ("/api/v1/signals?market_id=99999999999999999999", ["query", "market_id"]),
        (
            "/api/v1/markets?cursor=WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBd",
            ["query", "cursor"],
        ),
        ("/api/v1/markets?q=%00", ["query", "q"]),
        ("/api/v1/markets/1/ticks?from=0001-01-01T00:00:00%2B05:00", ["query", "from"]),
        ("/api/v1/signals?min_edge=nan", ["query", "min_edge"]),
    ],
)
def test_inputs_the_database_would_refuse_are_422_not_500(
    client: TestClient, problem: Any, url: str, field: list[str]
) -> None:
    body = problem(client.get(url), status=422, code="validation-error")
    assert field in [error["loc"] for error in body["errors"]]
