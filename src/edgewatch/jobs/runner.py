"""Running a pipeline step: one lock, one transaction, one ``pipeline_runs`` row, one code path.

Every pipeline — whether the embedded scheduler, a Celery worker or ``edgewatch pipeline run``
starts it — goes through ``run_pipeline``:

1. take the pipeline's lock (a second concurrent run is refused with ``PipelineBusy``);
2. record a ``running`` row in its own transaction, so operators see it start — or claim the
   ``queued`` row a trigger made (``run_id``), so a task names the run it is for;
3. run the step in one transaction, resuming from the last successful run's ``cursor``;
4. mark the row ``succeeded`` with its counts, or ``failed`` with the error, and emit metrics.

Re-running is safe: a step only sees work after the last successful cursor, and its writes are
idempotent upserts, so a run repeated after a crash stores nothing twice. A claimed run that has
already finished is returned as it is (a redelivered task does nothing). Where the lock spans
processes (PostgreSQL), a ``running`` row found while holding the lock belongs to a dead process:
it is marked ``failed`` (abandoned), or, if it is the claimed run, started again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from edgewatch import data_versions
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.locks import exclusive, spans_processes
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import NotFound
from edgewatch.models import PipelineRun
from edgewatch.observability.logging import bound_context, get_logger
from edgewatch.observability.metrics import PIPELINE_DURATION, PIPELINE_RUNS

log = get_logger(__name__)

#: Statuses after which a run never changes again.
FINISHED = frozenset({"succeeded", "failed", "skipped"})
ABANDONED = "abandoned: the process running it stopped before it finished"


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


def queue_run(session: Session, name: str) -> PipelineRun:
    """Record a ``queued`` run of ``name`` for a worker to claim by id. Flushes only."""
    run = PipelineRun(pipeline=name, status="queued", started_at=utcnow())
    run.details = {"queued_at": run.started_at.isoformat()}
    session.add(run)
    session.flush()
    return run


def runs_changed(settings: Settings) -> None:
    """Say that pipeline runs were added or changed; call after the commit.

    ``GET /api/v1/pipelines`` is cached under the ``pipelines`` data version, so a run that is
    queued, starts, ends or is skipped shows at once instead of when its cache entry expires.
    """
    data_versions.bump(settings, ("pipelines",))


def mark_skipped(session: Session, run_id: int, reason: str) -> bool:
    """Mark a still-``queued`` run ``skipped``; False if it was claimed or finished meanwhile."""
    result = session.execute(
        update(PipelineRun)
        .where(PipelineRun.id == run_id, PipelineRun.status == "queued")
        .values(status="skipped", error=reason[:2000], finished_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def _claim(session: Session, name: str, run_id: int | None) -> PipelineRun:
    if run_id is None:
        run = PipelineRun(pipeline=name, status="running", started_at=utcnow())
        session.add(run)
        session.flush()
        return run
    claimed = session.get(PipelineRun, run_id)
    if claimed is None or claimed.pipeline != name:
        raise NotFound(f"no run {run_id} of pipeline {name!r}")
    if claimed.status not in FINISHED:
        if claimed.status == "running":
            log.warning("pipeline_run_restarted", pipeline=name, pipeline_run_id=run_id)
        claimed.status, claimed.started_at = "running", utcnow()
    return claimed


def _reap_abandoned(session: Session, name: str, *, keep: int | None) -> None:
    stmt = (
        update(PipelineRun)
        .where(PipelineRun.pipeline == name, PipelineRun.status == "running")
        .values(status="failed", error=ABANDONED, finished_at=utcnow())
    )
    if keep is not None:
        stmt = stmt.where(PipelineRun.id != keep)
    reaped = getattr(session.execute(stmt), "rowcount", 0)
    if reaped:
        log.warning("pipeline_runs_abandoned", pipeline=name, runs=reaped)


def run_pipeline(
    name: str,
    step: PipelineFn,
    *,
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session] | None = None,
    now: datetime | None = None,
    run_id: int | None = None,
    reraise: tuple[type[BaseException], ...] = (),
) -> PipelineRun:
    """Run ``step`` as pipeline ``name``; returns the finished run (also on failure).

    ``run_id`` claims a run recorded by ``queue_run``; if it has already finished it is returned
    untouched. A step failure is recorded and, if it is one of ``reraise``, raised afterwards
    (workers retry temporary errors). Raises ``PipelineBusy`` if another run of ``name`` holds
    the lock, and ``NotFound`` for an unknown ``run_id``.
    """
    factory = session_factory or make_session_factory(engine)
    with exclusive(engine, f"pipeline:{name}"):
        with session_scope(factory) as session:
            if spans_processes(engine):
                _reap_abandoned(session, name, keep=run_id)
            run = _claim(session, name, run_id)
            if run.status in FINISHED:
                log.info("pipeline_run_already_finished", pipeline=name, pipeline_run_id=run.id)
                return run
            run_id = run.id
            previous = last_cursor(session, name)
        runs_changed(settings)
        with bound_context(pipeline=name, pipeline_run_id=run_id):
            started = time.perf_counter()
            outcome: PipelineOutcome | None = None
            error: str | None = None
            failure: BaseException | None = None
            try:
                with session_scope(factory) as session:
                    context = PipelineContext(
                        settings=settings,
                        run_id=run_id,
                        previous_cursor=previous,
                        now=now or utcnow(),
                    )
                    produced = step(session, context)
                # Only a committed step succeeded: a commit that fails (the server restarted
                # under it) must not move the cursor past ticks that were never stored.
                outcome = produced
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                failure = exc
                log.exception("pipeline_failed", error=error)
            duration = time.perf_counter() - started
            if outcome is not None:
                # After the commit, so no reader caches the old rows under the new version.
                data_versions.bump(settings, data_versions.pipeline_writes(name))
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
                    run.details = {**(run.details or {}), **outcome.details}
            runs_changed(settings)
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
            if failure is not None and isinstance(failure, reraise):
                raise failure
            return run
