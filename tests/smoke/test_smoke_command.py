"""``edgewatch smoke`` against a real running server, and against nothing at all."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from edgewatch.api.app import create_app
from edgewatch.cli import app as cli_app
from edgewatch.config import Settings
from liveserver import free_port, live_server

runner = CliRunner()


def _smoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli_app, ["smoke", *args])
    return result.exit_code, result.stdout


@pytest.mark.both_backends
def test_smoke_passes_against_a_healthy_deployment(
    settings: Settings, credentials: Callable[..., dict[str, str]]
) -> None:
    key = credentials("viewer")["X-API-Key"]
    with live_server(create_app(settings)) as url:
        code, output = _smoke("--url", url, "--json", "--api-key", key)
        refused, _ = _smoke("--url", url)
    results = json.loads(output)
    assert code == 0, output
    assert {result["name"] for result in results} >= {
        "liveness",
        "readiness",
        "read markets",
        "read signals",
        "metrics",
    }
    assert all(result["ok"] for result in results)
    assert refused == 1  # without a key the reads are refused, and the report says so


def test_smoke_reports_every_failure_when_nothing_answers() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, output = _smoke("--url", url, "--timeout", "2")
    assert code == 1
    assert "FAIL" in output
    assert "0/8 checks passed" in output


def test_smoke_refuses_a_url_that_is_not_http() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgewatch", "smoke", "--url", "ftp://example"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "edgewatch: --url must start with http:// or https://, got 'ftp://example'"
    )
