"""Celery tasks: the pipeline table run by workers through the same ``run_pipeline`` as the demo.

``edgewatch.pipelines.run(pipeline, run_id=None, then=[])``

- ``run_id`` names a ``queued`` ``pipeline_runs`` row (API triggers make one); a redelivered
  message finds it finished and does nothing. Beat's scheduled messages carry no id: the worker
  records the run. Either way re-running is safe (cursors and idempotent upserts, see
  ``jobs.runner``).
- The pipeline lock is taken inside ``run_pipeline``. If it is held, a scheduled run is dropped (the
  run in progress, or the next one, does the same work) and a triggered run is marked
  ``skipped``; a triggered run that had already started (its worker died and the message came
  back) retries until the dead attempt's lock is released.
- Temporary errors (venue down, database unreachable) are recorded as a failed run and retried
  with exponential backoff and jitter, up to ``EDGEWATCH_TASK_MAX_RETRIES`` times, as a new run.
- Time limits come from the app (``EDGEWATCH_TASK_*_TIME_LIMIT_SECONDS``): the soft limit raises
  inside the step, so the run is recorded as failed; the hard limit kills the process and the next
  run of the pipeline marks the orphaned row ``failed`` (abandoned).
- ``then`` pipelines are enqueued once the run finished (succeeded or failed).

Each worker process builds its engine and pipeline table on first use (after the fork), from the
same environment the worker was started with.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from celery import Task, shared_task
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.alerts.service import database_unreachable
from edgewatch.alerts.tasks import PIPELINE as ALERTS_PIPELINE
from edgewatch.clock import utcnow
from edgewatch.config import Settings, get_settings
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import DatabaseUnavailable, NotFound, PipelineBusy, TemporaryError
from edgewatch.jobs.celery_app import PIPELINES_QUEUE, RUN_TASK
from edgewatch.jobs.pipelines import PipelineSpec, available_pipelines
from edgewatch.jobs.runner import mark_skipped, run_pipeline, runs_changed
from edgewatch.models import PipelineRun
from edgewatch.observability.logging import bound_context, get_logger
from edgewatch.observability.metrics import TASK_RETRIES

log = get_logger(__name__)

#: Failures worth retrying: the same run may well succeed in a minute.
RETRYABLE = (TemporaryError, DatabaseUnavailable, OperationalError)
#: Longest wait between retries, seconds.
MAX_BACKOFF_SECONDS = 600.0


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    pipelines: dict[str, PipelineSpec]


_runtime: Runtime | None = None
_runtime_guard = threading.Lock()


def runtime() -> Runtime:
    """This worker process's settings, engine and pipeline table, built on first use."""
    global _runtime
    with _runtime_guard:
        if _runtime is None:
            settings = get_settings()
            engine = create_db_engine(settings.resolved_database_url)
            _runtime = Runtime(
                settings, engine, make_session_factory(engine), available_pipelines(settings)
            )
        return _runtime


def backoff_seconds(retries: int, *, base: float) -> float:
    """Exponential backoff with jitter: in [½, 1] × base·2^retries, at most 10 minutes."""
    ceiling = min(MAX_BACKOFF_SECONDS, base * float(2**retries))
    return ceiling * random.uniform(0.5, 1.0)


def enqueue_run(app: Any, pipeline: str, *, run_id: int | None = None) -> None:
    """Send ``RUN_TASK`` for ``pipeline`` (and the queued run ``run_id``) to the workers."""
    app.send_task(
        RUN_TASK,
        kwargs={"pipeline": pipeline, "run_id": run_id},
        queue=PIPELINES_QUEUE,
        # Nobody waits for a pipeline task's result: don't subscribe to the result store.
        ignore_result=True,
    )


@shared_task(  # type: ignore[untyped-decorator]  # Celery ships no type hints
    bind=True, name=RUN_TASK, acks_late=True, reject_on_worker_lost=True
)
def run_pipeline_task(
    self: Task[Any, Any],
    pipeline: str,
    run_id: int | None = None,
    then: list[str] | None = None,
) -> str:
    """Run ``pipeline`` once; returns the run's status, ``busy`` or ``unknown``."""
    with bound_context(task_id=self.request.id, pipeline=pipeline):
        status = _run(self, pipeline, run_id)
        if status in {"succeeded", "failed"}:
            for name in then or ():
                enqueue_run(self.app, name)
        return status


def _run(task: Task[Any, Any], pipeline: str, run_id: int | None) -> str:
    rt = runtime()
    spec = rt.pipelines.get(pipeline)
    if spec is None:
        log.error("task_unknown_pipeline", available=sorted(rt.pipelines))
        if run_id is not None:
            with session_scope(rt.factory) as session:
                mark_skipped(session, run_id, f"no pipeline named {pipeline!r} on this worker")
            runs_changed(rt.settings)
        return "unknown"
    try:
        run = run_pipeline(
            pipeline,
            spec.step,
            settings=rt.settings,
            engine=rt.engine,
            session_factory=rt.factory,
            run_id=run_id,
            reraise=RETRYABLE,
        )
    except PipelineBusy:
        return _busy(task, rt, pipeline, run_id)
    except NotFound as exc:
        log.error("task_unknown_run", run_id=run_id, error=exc.message)
        return "unknown"
    except RETRYABLE as exc:
        if pipeline == ALERTS_PIPELINE and isinstance(exc, DatabaseUnavailable | OperationalError):
            # The alert about the database being down cannot wait for the database.
            database_unreachable(rt.settings, str(exc).splitlines()[0][:300], now=utcnow())
        _retry(task, rt, pipeline, None, exc)
        return "failed"
    return run.status


def _busy(task: Task[Any, Any], rt: Runtime, pipeline: str, run_id: int | None) -> str:
    if run_id is None:
        log.info("pipeline_skipped_busy")
        return "busy"
    with session_scope(rt.factory) as session:
        skipped = mark_skipped(session, run_id, f"another run of {pipeline} was in progress")
        status = "skipped" if skipped else session.get_one(PipelineRun, run_id).status
    if skipped:
        runs_changed(rt.settings)
        log.info("pipeline_run_skipped_busy", run_id=run_id)
        return "skipped"
    if status != "running":
        return status
    # This run had started in a worker that died; its lock goes when its connection does.
    _retry(task, rt, pipeline, run_id, PipelineBusy(f"{pipeline} run {run_id} still locked"))
    return "retrying"


def _retry(
    task: Task[Any, Any], rt: Runtime, pipeline: str, run_id: int | None, exc: BaseException
) -> None:
    retries = task.request.retries
    if retries >= rt.settings.task_max_retries:
        log.error("task_retries_exhausted", retries=retries, error=str(exc))
        return
    countdown = backoff_seconds(retries, base=rt.settings.task_retry_backoff_seconds)
    TASK_RETRIES.labels(task=RUN_TASK).inc()
    log.warning("task_retry", retries=retries + 1, countdown=round(countdown, 2), error=str(exc))
    raise task.retry(
        exc=exc,
        countdown=countdown,
        max_retries=rt.settings.task_max_retries,
        kwargs={"pipeline": pipeline, "run_id": run_id, "then": task.request.kwargs.get("then")},
    )
