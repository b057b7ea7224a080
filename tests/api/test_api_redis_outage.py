"""Fault test: Redis goes down under a running API, then comes back.

The API keeps serving (rate limits and the response cache fail open, as docs/api.md says),
readiness reports Redis as degraded without taking the instance out of the balancer, and the
shared limits are enforced again once Redis is back — with no restart.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.observability.metrics import REGISTRY
from liveserver import free_port


class RedisServer:
    """A private redis-server on a fixed port that the test can stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def _errors(component: str) -> float:
    return REGISTRY.get_sample_value("edgewatch_redis_errors_total", {"component": component}) or 0


def _redis_check(client: Any) -> dict[str, Any]:
    response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    [check] = [check for check in response.json()["checks"] if check["name"] == "redis"]
    return dict(check)


def test_the_api_rides_out_a_redis_outage(
    settings: Settings, redis_server: RedisServer, client_class: type[Any]
) -> None:
    configured = settings.model_copy(
        update={"redis_url": redis_server.url, "rate_limit_per_minute": 6}
    )
    with client_class(create_app(configured)) as client:
        assert _redis_check(client)["status"] == "ok"
        assert client.get("/api/v1/markets").status_code == 200

        redis_server.stop()
        before = (_errors("rate_limit"), _errors("cache"))
        statuses = [client.get("/api/v1/markets").status_code for _ in range(8)]
        assert statuses == [200] * 8  # fails open: serving beats limiting
        assert _errors("rate_limit") > before[0]
        assert _errors("cache") > before[1]
        degraded = _redis_check(client)
        assert degraded["status"] == "warn" and "unreachable" in degraded["detail"]

        redis_server.start()  # same port: the app reconnects on its own
        assert _redis_check(client)["status"] == "ok"
        statuses = [client.get("/api/v1/markets").status_code for _ in range(8)]
        assert 429 in statuses, statuses  # the shared limit is enforced again
