"""Alert state and notifications: one per firing alert, a resolve when it clears, retries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alert_servers import HttpReceiver
from edgewatch.alerts import service
from edgewatch.alerts.rules import HttpWindow
from edgewatch.alerts.service import EvaluationResult, database_unreachable, evaluate_and_notify
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.models import Alert, PipelineRun

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.both_backends


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts like a new process: no HTTP history, no database-down alert."""
    monkeypatch.setattr(service, "HTTP_WINDOW", HttpWindow())
    monkeypatch.setattr(service, "DATABASE_DOWN", service.MemoryStore())


@pytest.fixture
def hooked(settings: Settings, http_receiver: HttpReceiver) -> Settings:
    return settings.model_copy(
        update={
            "alert_webhook_url": SecretStr(f"{http_receiver.base_url}/hook"),
            "alert_slack_webhook_url": SecretStr(f"{http_receiver.base_url}/slack"),
        }
    )


@pytest.fixture
def evaluate(
    session_factory: sessionmaker[Session], hooked: Settings
) -> Callable[[datetime], EvaluationResult]:
    def run(now: datetime) -> EvaluationResult:
        with session_scope(session_factory) as session:
            return evaluate_and_notify(session, hooked, now=now)

    return run


def fail_runs(factory: sessionmaker[Session], pipeline: str, count: int, at: datetime) -> None:
    with session_scope(factory) as session:
        for minute in range(count):
            session.add(
                PipelineRun(
                    pipeline=pipeline,
                    status="failed",
                    started_at=at + timedelta(minutes=minute),
                    error="boom",
                )
            )


def statuses(receiver: HttpReceiver, path: str) -> list[tuple[str, str, dict[str, str]]]:
    return [
        (body["status"], body["alert"]["rule"], body["alert"]["labels"])
        for body in receiver.to(path)
    ]


def test_three_failures_in_an_hour_notify_once_however_often_evaluated(
    session_factory: sessionmaker[Session],
    evaluate: Callable[[datetime], EvaluationResult],
    http_receiver: HttpReceiver,
) -> None:
    fail_runs(session_factory, "ingest-sim", 3, NOW - timedelta(minutes=30))
    first = evaluate(NOW)
    second = evaluate(NOW + timedelta(minutes=1))
    assert [alert.rule for alert in first.firing] == ["EdgewatchPipelineFailures"]
    assert [alert.rule for alert in second.firing] == ["EdgewatchPipelineFailures"]
    assert first.sent == 2 and second.sent == 0
    assert statuses(http_receiver, "/hook") == [
        ("firing", "EdgewatchPipelineFailures", {"pipeline": "ingest-sim"})
    ]
    assert len(http_receiver.to("/slack")) == 1


def test_two_failures_do_not_fire(
    session_factory: sessionmaker[Session],
    evaluate: Callable[[datetime], EvaluationResult],
    http_receiver: HttpReceiver,
) -> None:
    fail_runs(session_factory, "ingest-sim", 2, NOW - timedelta(minutes=30))
    assert evaluate(NOW).firing == []
    assert http_receiver.requests == []


def test_a_cleared_condition_sends_one_resolve_message(
    session_factory: sessionmaker[Session],
    evaluate: Callable[[datetime], EvaluationResult],
    http_receiver: HttpReceiver,
) -> None:
    fail_runs(session_factory, "ingest-sim", 3, NOW - timedelta(minutes=30))
    evaluate(NOW)
    later = NOW + timedelta(hours=2)  # the failures have left the one-hour window
    assert evaluate(later).firing == []
    evaluate(later + timedelta(minutes=1))
    assert statuses(http_receiver, "/hook") == [
        ("firing", "EdgewatchPipelineFailures", {"pipeline": "ingest-sim"}),
        ("resolved", "EdgewatchPipelineFailures", {"pipeline": "ingest-sim"}),
    ]
    [resolve] = http_receiver.to("/hook")[1:]
    assert resolve["alert"]["resolved_at"] == later.isoformat()
    with session_scope(session_factory) as session:
        [alert] = session.scalars(select(Alert)).all()
        assert alert.status == "resolved" and alert.resolved_at == later


def test_an_alert_that_fires_again_notifies_again(
    session_factory: sessionmaker[Session],
    evaluate: Callable[[datetime], EvaluationResult],
    http_receiver: HttpReceiver,
) -> None:
    fail_runs(session_factory, "ingest-sim", 3, NOW - timedelta(minutes=30))
    evaluate(NOW)
    evaluate(NOW + timedelta(hours=2))
    fail_runs(session_factory, "ingest-sim", 3, NOW + timedelta(hours=3))
    evaluate(NOW + timedelta(hours=3, minutes=10))
    assert [status for status, _, _ in statuses(http_receiver, "/hook")] == [
        "firing",
        "resolved",
        "firing",
    ]


def test_a_still_firing_alert_repeats_after_the_repeat_interval(
    session_factory: sessionmaker[Session],
    evaluate: Callable[[datetime], EvaluationResult],
    http_receiver: HttpReceiver,
    hooked: Settings,
) -> None:
    assert hooked.alert_repeat_interval_minutes == 240
    fail_runs(session_factory, "ingest-sim", 3, NOW - timedelta(minutes=30))
    evaluate(NOW)
    # Keep it failing: three more failures inside each later hour.
    for hours in (1, 2, 3, 4):
        fail_runs(
            session_factory, "ingest-sim", 3, NOW + timedelta(hours=hours) - timedelta(minutes=20)
        )
        evaluate(NOW + timedelta(hours=hours))
    assert [status for status, _, _ in statuses(http_receiver, "/hook")] == ["firing", "firing"]


def test_a_failing_channel_is_retried_without_repeating_the_others(
    session_factory: sessionmaker[Session],
    evaluate: Callable[[datetime], EvaluationResult],
    http_receiver: HttpReceiver,
    hooked: Settings,
) -> None:
    broken = hooked.model_copy(
        update={"alert_discord_webhook_url": SecretStr("http://127.0.0.1:9/discord")}
    )
    fail_runs(session_factory, "ingest-sim", 3, NOW - timedelta(minutes=30))
    with session_scope(session_factory) as session:
        result = evaluate_and_notify(session, broken, now=NOW)
    assert result.sent == 2 and len(result.failed) == 1
    assert result.failed[0].startswith("discord: cannot reach http://127.0.0.1:9")
    fixed = hooked.model_copy(
        update={"alert_discord_webhook_url": SecretStr(f"{http_receiver.base_url}/discord")}
    )
    with session_scope(session_factory) as session:
        again = evaluate_and_notify(session, fixed, now=NOW + timedelta(minutes=1))
    assert again.sent == 1 and again.failed == []
    assert len(http_receiver.to("/hook")) == 1 and len(http_receiver.to("/discord")) == 1


def test_stale_data_fires_per_venue(
    session_factory: sessionmaker[Session],
    evaluate: Callable[[datetime], EvaluationResult],
    http_receiver: HttpReceiver,
) -> None:
    from edgewatch.models import Market

    with session_scope(session_factory) as session:
        for venue, age in (("kalshi", timedelta(hours=7)), ("polymarket", timedelta(minutes=5))):
            session.add(
                Market(
                    venue=venue,
                    venue_market_id=f"{venue}-1",
                    title="Will it rain?",
                    status="open",
                    last_tick_at=NOW - age,
                )
            )
    result = evaluate(NOW)
    assert [(a.rule, a.labels) for a in result.firing] == [
        ("EdgewatchDataStale", {"venue": "kalshi"})
    ]
    [body] = http_receiver.to("/hook")
    assert "7.0 h old" in body["alert"]["description"]


def test_database_down_fires_from_memory_and_resolves_when_it_is_back(
    evaluate: Callable[[datetime], EvaluationResult],
    hooked: Settings,
    http_receiver: HttpReceiver,
) -> None:
    database_unreachable(hooked, "connection refused", now=NOW)
    database_unreachable(hooked, "connection refused", now=NOW + timedelta(minutes=1))
    evaluate(NOW + timedelta(minutes=2))
    assert statuses(http_receiver, "/hook") == [
        ("firing", "EdgewatchDatabaseUnreachableFromApp", {}),
        ("resolved", "EdgewatchDatabaseUnreachableFromApp", {}),
    ]
