"""The one schedule table, as the embedded scheduler and Celery beat read it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import structlog
from sqlalchemy import Engine, select

from edgewatch.config import Settings
from edgewatch.jobs import schedule
from edgewatch.jobs.celery_app import PIPELINES_QUEUE, RUN_TASK, beat_schedule
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.schedule import ScheduleEntry, active_schedule, schedule_table
from edgewatch.jobs.scheduler import EmbeddedScheduler
from edgewatch.models import PipelineRun


@pytest.fixture(autouse=True)
def _fresh_missing_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule, "_reported_missing", set())


def test_the_table_schedules_every_job_by_name(settings: Settings) -> None:
    two = settings.model_copy(update={"sources": ["sim", "kalshi"], "ingest_interval_seconds": 60})
    table = {entry.pipeline: entry for entry in schedule_table(two)}
    core = ["ingest-sim", "ingest-kalshi", "match-markets", "data-quality"]
    core += ["retention", "backup", "retrain-models"]
    assert [name for name in table if name in core] == core
    ingest = table["ingest-sim"]
    assert (ingest.every, ingest.at_start) == (timedelta(minutes=1), True)
    assert ingest.then[0] == "generate-signals"  # new ticks become signals first
    assert table["match-markets"].every == timedelta(hours=1)
    assert table["data-quality"].every == timedelta(hours=1)
    assert table["retention"].every == table["backup"].every == timedelta(days=1)
    assert table["retrain-models"].every == timedelta(weeks=1)
    assert not table["backup"].at_start


def test_unregistered_pipelines_are_skipped_with_one_log_line_each(settings: Settings) -> None:
    registered = {"ingest-sim", "match-markets", "generate-signals", "backup"}
    with structlog.testing.capture_logs() as logs:
        first = active_schedule(settings, registered)
        second = active_schedule(settings, registered)
    assert [e.pipeline for e in first] == ["ingest-sim", "match-markets", "backup"]
    assert first == second
    missing = [e["pipeline"] for e in logs if e["event"] == "scheduled_pipeline_not_registered"]
    expected: list[str] = []  # entries and their follow-ups, each name once, in table order
    for entry in schedule_table(settings):
        for name in (entry.pipeline, *entry.then):
            if name not in registered and name not in expected:
                expected.append(name)
    assert missing == expected
    assert {"data-quality", "retention", "retrain-models"} <= set(missing)


def test_an_unregistered_follow_up_is_dropped_but_its_entry_kept(settings: Settings) -> None:
    entries = active_schedule(settings, {"ingest-sim"})
    assert entries == [ScheduleEntry("ingest-sim", timedelta(seconds=10), at_start=True)]


def test_beat_sends_the_run_task_for_each_active_entry(settings: Settings) -> None:
    entries = active_schedule(settings, available_pipelines(settings))
    beat = beat_schedule(entries)
    assert set(beat) == {entry.pipeline for entry in entries}
    assert beat["ingest-sim"] == {
        "task": RUN_TASK,
        "schedule": timedelta(seconds=10),
        "kwargs": {"pipeline": "ingest-sim", "then": list(entries[0].then)},
        "options": {"queue": PIPELINES_QUEUE, "expires": 10.0},
    }
    assert beat["match-markets"]["schedule"] == timedelta(hours=1)
    assert beat["match-markets"]["options"]["expires"] == 3600.0


def test_the_embedded_scheduler_runs_what_is_due_then_the_follow_ups(
    settings: Settings, engine: Engine
) -> None:
    scheduler = EmbeddedScheduler(settings=settings, engine=engine)
    registered = set(available_pipelines(settings))
    at_start = [
        e.pipeline for e in schedule_table(settings) if e.at_start and e.pipeline in registered
    ]
    start = 1_000_000.0
    scheduler._due = {
        e.pipeline: start if e.at_start else start + e.every.total_seconds()
        for e in scheduler.entries
    }
    after_ingest = list(scheduler.entries[0].then)
    assert after_ingest[0] == "generate-signals"
    assert scheduler.due(start) == [*at_start, *after_ingest]
    ran = scheduler.run_cycle(start)
    assert ran == [*at_start, *after_ingest]
    # One ingest interval later only ingest is due again, and what follows it.
    later = start + settings.ingest_interval_seconds
    assert scheduler.due(later) == ["ingest-sim", *after_ingest]
    assert scheduler.due(start + 1) == []
    with engine.connect() as connection:
        rows = connection.execute(
            select(PipelineRun.pipeline, PipelineRun.status).order_by(PipelineRun.id)
        ).all()
    assert [tuple(row) for row in rows] == [(name, "succeeded") for name in ran]
