"""docs/openapi.json is the app's current OpenAPI document, and that document says, for every
operation, how to authenticate and which problem documents it can answer with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edgewatch.api.openapi_export import EXPORT_COMMAND, app, render

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(render())
    return parsed


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def test_docs_openapi_json_is_current() -> None:
    if not COMMITTED.is_file() or COMMITTED.read_text(encoding="utf-8") != render():
        pytest.fail(
            f"docs/openapi.json is stale (routes or models changed): run `{EXPORT_COMMAND}` "
            "and commit docs/openapi.json",
            pytrace=False,
        )


def test_every_operation_says_how_to_authenticate(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        name = f"{method} {path}"
        assert operation.get("summary"), name
        assert "**Auth:**" in operation.get("description", ""), name
        if operation.get("security") == []:
            continue
        assert operation.get("x-required-scope"), name
        assert {"401", "403"} <= set(operation["responses"]), name


def test_every_error_is_a_problem_document_with_an_example(document: dict[str, Any]) -> None:
    readiness_report = ("GET", "/health/ready", "503")
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status[0] not in "45" or (method, path, status) == readiness_report:
                continue
            content = response["content"]
            forms = "application/x-www-form-urlencoded" in str(operation.get("requestBody"))
            expected = (
                ["application/problem+json", "text/html"] if forms else ["application/problem+json"]
            )
            assert list(content) == expected, (method, path, status)
            media = content["application/problem+json"]
            assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert media["example"]["status"] == int(status)
            assert media["example"]["type"].startswith("https://edgewatch.dev/problems/")


def test_limited_operations_document_429_and_bodies_413(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        if path.startswith(("/health", "/metrics")):
            assert "429" not in responses, path
        else:
            assert "Retry-After" in responses["429"]["headers"], (method, path)
        if "requestBody" in operation:
            assert "413" in responses, (method, path)


def test_cached_operations_document_etags(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/markets/{market_id}/ticks"]["get"]

    assert "ETag" in operation["responses"]["200"]["headers"]
    assert "304" in operation["responses"]
    assert "304" not in document["paths"]["/api/v1/quarantine"]["get"]["responses"]
    live = document["paths"]["/api/v1/pipelines"]["get"]
    assert "cached for up to 10 seconds" in live["description"]


def test_the_check_command_fails_on_a_stale_file_and_names_the_fix(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    runner = CliRunner()

    failed = runner.invoke(app, ["export", "--check", "--output", str(stale)])
    written = runner.invoke(app, ["export", "--output", str(stale)])
    passed = runner.invoke(app, ["export", "--check", "--output", str(stale)])

    assert failed.exit_code == 1
    assert EXPORT_COMMAND in failed.output
    assert written.exit_code == 0 and "operations" in written.output
    assert passed.exit_code == 0
    assert stale.read_text() == render()
