"""Running a pipeline step: one lock, one transaction, one ``pipeline_runs`` row, one code path.

Every pipeline — whether the embedded scheduler, a Celery worker or ``edgewatch pipeline run``
starts it — goes through ``run_pipeline``:

1. take the pipeline's lock (a second concurrent run is refused with ``PipelineBusy``);
2. record a ``running`` row in its own transaction, so operators see it start;
3. run the step in one transaction, resuming from the last successful run's ``cursor``;
4. mark the row ``succeeded`` with its counts, or ``failed`` with the error, and emit metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.locks import exclusive
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.models import PipelineRun
from edgewatch.observability.logging import bound_context, get_logger
from edgewatch.observability.metrics import PIPELINE_DURATION, PIPELINE_RUNS

log = get_logger(__name__)


@dataclass(slots=True)
class PipelineOutcome:
    rows_in: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    #: Where the next run resumes; ``None`` keeps the previous cursor.
    cursor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PipelineContext:
    settings: Settings
    run_id: int
    previous_cursor: str | None
    now: datetime


PipelineFn = Callable[[Session, PipelineContext], PipelineOutcome]


def last_cursor(session: Session, pipeline: str) -> str | None:
    return session.scalars(
        select(PipelineRun.cursor)
        .where(
            PipelineRun.pipeline == pipeline,
            PipelineRun.status == "succeeded",
            PipelineRun.cursor.is_not(None),
        )
        .order_by(PipelineRun.id.desc())
        .limit(1)
    ).first()


def run_pipeline(
    name: str,
    step: PipelineFn,
    *,
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session] | None = None,
    now: datetime | None = None,
) -> PipelineRun:
    """Run ``step`` as pipeline ``name``; returns the finished run (also on failure).

    Raises ``PipelineBusy`` if another run of ``name`` holds the lock.
    """
    factory = session_factory or make_session_factory(engine)
    with exclusive(engine, f"pipeline:{name}"):
        with session_scope(factory) as session:
            run = PipelineRun(pipeline=name, status="running", started_at=utcnow())
            session.add(run)
            session.flush()
            run_id = run.id
            previous = last_cursor(session, name)
        with bound_context(pipeline=name, pipeline_run_id=run_id):
            started = time.perf_counter()
            outcome: PipelineOutcome | None = None
            error: str | None = None
            try:
                with session_scope(factory) as session:
                    context = PipelineContext(
                        settings=settings,
                        run_id=run_id,
                        previous_cursor=previous,
                        now=now or utcnow(),
                    )
                    outcome = step(session, context)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                log.exception("pipeline_failed", error=error)
            duration = time.perf_counter() - started
            with session_scope(factory) as session:
                run = session.get_one(PipelineRun, run_id)
                run.finished_at = utcnow()
                if outcome is None:
                    run.status, run.error = "failed", error
                else:
                    run.status = "succeeded"
                    run.rows_in, run.rows_stored = outcome.rows_in, outcome.rows_stored
                    run.rows_rejected = outcome.rows_rejected
                    run.cursor = outcome.cursor or previous
                    run.details = outcome.details
            PIPELINE_RUNS.labels(pipeline=name, status=run.status).inc()
            PIPELINE_DURATION.labels(pipeline=name).observe(duration)
            log.info(
                "pipeline_finished",
                status=run.status,
                rows_in=run.rows_in,
                rows_stored=run.rows_stored,
                rows_rejected=run.rows_rejected,
                duration_ms=round(duration * 1000, 1),
            )
            return run
