"""Every pipeline run leaves one truthful ``pipeline_runs`` row and resumes where it stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from edgewatch.config import Settings
from edgewatch.db.locks import exclusive
from edgewatch.errors import PipelineBusy
from edgewatch.jobs.pipelines import available_pipelines, get_pipeline
from edgewatch.jobs.runner import PipelineContext, PipelineOutcome, run_pipeline
from edgewatch.models import PipelineRun

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_a_successful_run_records_counts_and_cursor(settings: Settings, engine: Engine) -> None:
    seen: list[str | None] = []

    def step(session: Session, context: PipelineContext) -> PipelineOutcome:
        seen.append(context.previous_cursor)
        return PipelineOutcome(rows_in=5, rows_stored=4, rows_rejected=1, cursor=f"c{len(seen)}")

    first = run_pipeline("demo-step", step, settings=settings, engine=engine)
    second = run_pipeline("demo-step", step, settings=settings, engine=engine)
    assert (first.status, first.rows_in, first.rows_stored, first.rows_rejected) == (
        "succeeded",
        5,
        4,
        1,
    )
    assert first.finished_at is not None and first.finished_at >= first.started_at
    assert seen == [None, "c1"]
    assert second.cursor == "c2"


def test_a_failing_step_is_recorded_and_does_not_move_the_cursor(
    settings: Settings, engine: Engine
) -> None:
    def ok(session: Session, context: PipelineContext) -> PipelineOutcome:
        return PipelineOutcome(cursor="good")

    def broken(session: Session, context: PipelineContext) -> PipelineOutcome:
        raise RuntimeError("venue exploded")

    seen: list[str | None] = []

    def check(session: Session, context: PipelineContext) -> PipelineOutcome:
        seen.append(context.previous_cursor)
        return PipelineOutcome()

    run_pipeline("p", ok, settings=settings, engine=engine)
    failed = run_pipeline("p", broken, settings=settings, engine=engine)
    run_pipeline("p", check, settings=settings, engine=engine)
    assert failed.status == "failed"
    assert failed.error == "RuntimeError: venue exploded"
    assert seen == ["good"]


def test_a_pipeline_never_runs_twice_at_once(settings: Settings, engine: Engine) -> None:
    def step(session: Session, context: PipelineContext) -> PipelineOutcome:
        return PipelineOutcome()

    with exclusive(engine, "pipeline:busy"), pytest.raises(PipelineBusy):
        run_pipeline("busy", step, settings=settings, engine=engine)
    assert run_pipeline("busy", step, settings=settings, engine=engine).status == "succeeded"


def test_ingest_then_signals_through_the_pipeline_table(settings: Settings, engine: Engine) -> None:
    pipelines = available_pipelines(settings)
    core = ["ingest-sim", "match-markets", "generate-signals"]
    assert [name for name in pipelines if name in core] == core  # others register more
    ingest = run_pipeline(
        "ingest-sim", pipelines["ingest-sim"].step, settings=settings, engine=engine, now=NOW
    )
    later = NOW + timedelta(seconds=30)
    again = run_pipeline(
        "ingest-sim", pipelines["ingest-sim"].step, settings=settings, engine=engine, now=later
    )
    assert ingest.status == again.status == "succeeded"
    assert ingest.cursor == NOW.isoformat()
    # The second run resumed at the first one's cursor: only 30 s of new ticks.
    assert 0 < again.rows_in < ingest.rows_in / 10
    signals = run_pipeline(
        "generate-signals",
        get_pipeline(settings, "generate-signals").step,
        settings=settings,
        engine=engine,
        now=later,
    )
    assert signals.status == "succeeded"
    with Session(engine) as session:
        runs = session.scalars(select(PipelineRun).order_by(PipelineRun.id)).all()
        assert [r.pipeline for r in runs] == ["ingest-sim", "ingest-sim", "generate-signals"]
