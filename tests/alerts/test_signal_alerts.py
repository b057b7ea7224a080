"""End to end on the simulator: ingest → generate-signals → evaluate-alerts → a local webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alert_servers import HttpReceiver
from edgewatch.alerts import service
from edgewatch.alerts.rules import HttpWindow
from edgewatch.config import Settings
from edgewatch.jobs.pipelines import get_pipeline
from edgewatch.jobs.runner import run_pipeline
from edgewatch.models import Alert, Signal
from edgewatch.observability.metrics import FEATURE_COMPUTATION


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "HTTP_WINDOW", HttpWindow())
    monkeypatch.setattr(service, "DATABASE_DOWN", service.MemoryStore())


#: The simulated world is a function of time, and not every hour of it has a confident signal
#: that is still open when it is generated (a test at 2026-11-29T01:09Z found none): the tests
#: run the pipelines at this instant, which has several.
AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def run(name: str, settings: Settings, engine: Engine, offset: timedelta) -> datetime:
    """Run a pipeline at ``AT`` + ``offset``; returns that time."""
    now = AT + offset
    finished = run_pipeline(
        name, get_pipeline(settings, name).step, settings=settings, engine=engine, now=now
    )
    assert finished.status == "succeeded", finished.error
    return now


def actionable(engine: Engine, *, at: datetime, min_confidence: float) -> tuple[list[int], int]:
    """Ids of signals at ``min_confidence`` still open at ``at``, and how many had expired."""
    with Session(engine) as session:
        rows = session.execute(
            select(Signal.id, Signal.expires_at)
            .where(Signal.confidence >= min_confidence)
            .order_by(Signal.id)
        ).all()
    live = [row.id for row in rows if row.expires_at > at]
    return live, len(rows) - len(live)


def feature_observations(group: str) -> float:
    for metric in FEATURE_COMPUTATION.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count") and sample.labels.get("group") == group:
                return sample.value
    return 0.0


def test_high_confidence_signals_reach_the_webhook_once(
    settings: Settings, engine: Engine, http_receiver: HttpReceiver
) -> None:
    configured = settings.model_copy(
        update={
            "alert_webhook_url": SecretStr(f"{http_receiver.base_url}/hook"),
            "high_confidence_threshold": 0.3,
        }
    )
    run("ingest-sim", configured, engine, timedelta(0))
    generated_at = run("generate-signals", configured, engine, timedelta(0))
    confident, expired = actionable(engine, at=generated_at, min_confidence=0.3)
    with Session(engine) as session:
        events = session.scalars(select(Alert).where(Alert.kind == "event")).all()
    assert confident, "the simulator should produce confident arbitrage signals"
    assert expired, "the backfill should also store signals that had already expired"
    # Only signals one could still act on are announced; the backfill's expired ones are not.
    assert sorted(int(event.labels["signal_id"]) for event in events) == confident
    assert http_receiver.requests == []  # delivered by evaluate-alerts, after the commit

    run("evaluate-alerts", configured, engine, timedelta(seconds=1))
    run("evaluate-alerts", configured, engine, timedelta(seconds=2))
    bodies = [b for b in http_receiver.to("/hook") if b["kind"] == "event"]
    assert sorted(int(b["alert"]["labels"]["signal_id"]) for b in bodies) == confident
    first = bodies[0]["alert"]
    assert first["rule"] == "EdgewatchHighConfidenceSignal" and first["severity"] == "info"
    assert first["labels"]["strategy"] == "cross_venue_arbitrage"
    assert first["value"] >= 0.3
    assert all(b["status"] == "firing" for b in bodies)


def test_signals_below_the_threshold_raise_no_event(
    settings: Settings, engine: Engine, http_receiver: HttpReceiver
) -> None:
    configured = settings.model_copy(
        update={
            "alert_webhook_url": SecretStr(f"{http_receiver.base_url}/hook"),
            "high_confidence_threshold": 1.0,
        }
    )
    run("ingest-sim", configured, engine, timedelta(0))
    generated_at = run("generate-signals", configured, engine, timedelta(0))
    run("evaluate-alerts", configured, engine, timedelta(seconds=1))
    # A riskless arbitrage can be fully confident; only those reach a threshold of 1.
    certain, _ = actionable(engine, at=generated_at, min_confidence=1.0)
    with Session(engine) as session:
        assert session.scalars(select(Signal.id)).first() is not None
        events = session.scalars(select(Alert).where(Alert.kind == "event")).all()
    assert sorted(int(event.labels["signal_id"]) for event in events) == certain
    assert len(http_receiver.requests) == len(certain)


def test_feature_computation_is_timed_when_signals_are_generated(
    settings: Settings, engine: Engine
) -> None:
    configured = settings.model_copy(
        update={"live_strategies": ["cross_venue_arbitrage", "mean_reversion"]}
    )
    run("ingest-sim", configured, engine, timedelta(0))
    before = feature_observations("market")
    run("generate-signals", configured, engine, timedelta(0))
    assert feature_observations("market") > before
