"""The checks ``edgewatch smoke`` runs against a deployment, and their outcomes.

A smoke test answers one question after a deploy: does the thing we just shipped serve? So it reads
what every user reads (health, readiness, one page of each resource, the metrics endpoint) and
checks the *shape* of each answer, not its data: an empty market list on a fresh install is fine,
an HTML error page from a misrouted proxy is not. Every check runs even when an earlier one fails,
so the report shows the whole picture at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

#: Resources read with an API key (or anonymously when the deployment allows public reads).
RESOURCE_PATHS = (
    "/api/v1/markets?limit=1",
    "/api/v1/signals?limit=1",
    "/api/v1/links?limit=1",
    "/api/v1/pipelines",
    "/api/v1/backtests?limit=1",
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    status: int | None
    elapsed_ms: float
    detail: str


Validator = Callable[[httpx.Response], str | None]


def _expect_json_object(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return f"not JSON ({response.headers.get('content-type', 'no content type')})"
    return None if isinstance(body, dict) else "JSON is not an object"


def _expect_ready(response: httpx.Response) -> str | None:
    """Ready means 200; the body names what is failing, which is what an operator needs next."""
    problem = _expect_json_object(response)
    if problem is not None:
        return problem
    checks = [check for check in response.json().get("checks", []) if isinstance(check, dict)]
    failing = [
        f"{check.get('name')}: {check.get('detail')}"
        for check in checks
        if check.get("status") == "fail" and check.get("required")
    ]
    if response.status_code != 200 or failing:
        return "not ready — " + ("; ".join(failing) or f"HTTP {response.status_code}")
    return None


def _expect_metrics(response: httpx.Response) -> str | None:
    return None if "edgewatch_" in response.text else "no edgewatch_ metrics in the exposition"


def _run_one(
    client: httpx.Client, name: str, path: str, validate: Validator, headers: dict[str, str]
) -> CheckResult:
    started = time.perf_counter()
    try:
        response = client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult(name, False, None, elapsed, f"{type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200 and validate is not _expect_ready:
        hint = " (pass --api-key)" if response.status_code == 401 and not headers else ""
        return CheckResult(
            name, False, response.status_code, elapsed, f"HTTP {response.status_code}{hint}"
        )
    problem = validate(response)
    return CheckResult(name, problem is None, response.status_code, elapsed, problem or "ok")


def run_checks(client: httpx.Client, api_key: str | None = None) -> Iterator[CheckResult]:
    """Run every check in order, yielding each result as it completes."""
    auth = {"X-API-Key": api_key} if api_key else {}
    yield _run_one(client, "liveness", "/health", _expect_json_object, {})
    yield _run_one(client, "readiness", "/health/ready", _expect_ready, {})
    for path in RESOURCE_PATHS:
        name = "read " + path.removeprefix("/api/v1/").split("?")[0]
        yield _run_one(client, name, path, _expect_json_object, auth)
    yield _run_one(client, "metrics", "/metrics", _expect_metrics, {})
