"""A venue that errors for minutes: the circuit opens, an alert fires, and recovery needs no one.

The venue is a real local HTTP server answering 503 until it is "fixed"; the ingest pipeline,
the circuit breaker, the in-app alert rules and the webhook channel are all the production code.
The breaker's clock is the one thing the test controls: its 30 s cool-down passes when the test
says so, not when a loaded machine happens to get there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from alert_servers import HttpReceiver, http_receiver  # noqa: F401  (fixture)
from edgewatch.alerts import service
from edgewatch.alerts.rules import HttpWindow
from edgewatch.alerts.tasks import run_alerts_pipeline
from edgewatch.config import Settings
from edgewatch.jobs.runner import run_pipeline
from edgewatch.observability.metrics import REGISTRY
from edgewatch.ticks.ingest import ingest_pipeline
from edgewatch.venues.kalshi.client import KalshiClient
from edgewatch.venues.kalshi.venue import KalshiVenue
from edgewatch.venues.normalize import unwrap_recording
from edgewatch.venues.resilience import CircuitBreaker, RetryPolicy, circuit_states
from venue_server import Answer, ScriptedServer

API = "/trade-api/v2"
BREAKER = "kalshi-outage-test"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "venues"


@pytest.fixture
def venue() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture(autouse=True)
def _fresh_alert_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "HTTP_WINDOW", HttpWindow())
    monkeypatch.setattr(service, "DATABASE_DOWN", service.MemoryStore())


def _markets_page() -> dict[str, object]:
    recorded = json.loads((FIXTURES / "kalshi" / "rest_get_event.json").read_text())
    event, _metadata = unwrap_recording(recorded)
    assert isinstance(event, dict)
    return {"markets": event["markets"], "cursor": ""}


def test_a_failing_venue_opens_the_circuit_alerts_and_recovers_on_its_own(
    settings: Settings,
    engine: Engine,
    venue: ScriptedServer,
    http_receiver: HttpReceiver,  # noqa: F811
) -> None:
    configured = settings.model_copy(
        update={"alert_webhook_url": SecretStr(f"{http_receiver.base_url}/hook")}
    )
    clock = [0.0]
    breaker = CircuitBreaker(BREAKER, failure_threshold=3, reset_timeout=30, clock=lambda: clock[0])
    client = KalshiClient(
        base_url=venue.url + API,
        timeout=1,
        breaker=breaker,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02),
    )
    step = ingest_pipeline(KalshiVenue(client))
    venue.script(f"{API}/series", Answer(200, {"series": []}))
    venue.script(f"{API}/markets", Answer(503, {"error": "maintenance"}))

    def ingest() -> str:
        run = run_pipeline("ingest-kalshi", step, settings=configured, engine=engine)
        return run.status

    def webhook(status: str) -> list[dict[str, object]]:
        return [
            body["alert"]
            for body in http_receiver.to("/hook")
            if body["alert"]["rule"] == "EdgewatchVenueDown" and body["status"] == status
        ]

    # The outage: runs fail, and after three failed calls the circuit opens.
    assert [ingest() for _ in range(3)] == ["failed"] * 3
    assert circuit_states()[BREAKER] == "open"
    assert REGISTRY.get_sample_value("edgewatch_venue_circuit_open", {"venue": BREAKER}) == 1
    refused = REGISTRY.get_sample_value(
        "edgewatch_venue_request_errors_total", {"venue": "kalshi", "reason": "http_5xx"}
    )
    assert refused is not None and refused >= 3
    run_alerts_pipeline(settings=configured, engine=engine)
    [fired] = webhook("firing")
    assert fired["labels"] == {"venue": BREAKER}

    # The venue comes back; nobody intervenes. After the cool-down a trial call succeeds.
    venue.rescript(f"{API}/markets", Answer(200, _markets_page()))
    clock[0] += 31
    assert ingest() == "succeeded"
    assert circuit_states()[BREAKER] == "closed"
    assert REGISTRY.get_sample_value("edgewatch_venue_circuit_open", {"venue": BREAKER}) == 0
    run_alerts_pipeline(settings=configured, engine=engine)
    assert len(webhook("resolved")) == 1
    assert len(webhook("firing")) == 1  # deduplicated: no second page for the same outage
    client.close()
