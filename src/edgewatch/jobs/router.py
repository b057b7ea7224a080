"""``/api/v1/pipelines`` and ``/api/v1/quarantine``: pipeline runs and what they refused.

``GET /pipelines`` is the job monitor: the runs (newest first, paginated), per-pipeline counts and
durations over the last 24 hours (``summary``) and the Celery queue depths (``queue``).
``POST /pipelines/{name}/runs`` triggers a run: it records a ``queued`` run and hands its id to a
Celery worker, or, without a broker (the embedded default), runs it in this process after the
response. Either way the run goes through ``jobs.runner.run_pipeline``; if another run of the
pipeline is in progress the new one ends ``skipped``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import Engine

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.cache import LIVE_TTL_SECONDS, cached
from edgewatch.api.deps import SessionDep, SettingsDep
from edgewatch.api.pagination import CursorParam, Page, decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import text_filter
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.errors import NotFound, PipelineBusy, TemporaryError
from edgewatch.jobs import repository
from edgewatch.jobs.runner import mark_skipped, queue_run, run_pipeline, runs_changed
from edgewatch.observability.logging import get_logger

router = APIRouter(route_class=ApiRoute, prefix=API_V1_PREFIX, tags=["pipelines"])
log = get_logger(__name__)
#: The window of ``summary`` in ``GET /pipelines``.
SUMMARY_WINDOW = timedelta(hours=24)
RunStatus = Literal["queued", "running", "succeeded", "failed", "skipped"]


class PipelineRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    pipeline: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    rows_in: int
    rows_stored: int
    rows_rejected: int
    error: str | None
    details: dict[str, Any]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_seconds(self) -> float | None:
        """Run time of a finished run (from when a worker started it); null until it ends."""
        if self.finished_at is None or self.status == "skipped":
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)


class PipelineSummaryOut(BaseModel):
    pipeline: str
    runs: int
    by_status: dict[str, int]
    mean_duration_seconds: float | None
    p95_duration_seconds: float | None
    max_duration_seconds: float | None
    last_started_at: datetime | None
    last_status: str | None


class QueueOut(BaseModel):
    """Celery queue depths; ``broker`` is ``none`` on the embedded default (no workers)."""

    broker: Literal["redis", "none"]
    #: False when the broker did not answer (depths are then empty).
    available: bool
    depths: dict[str, int]


class PipelineRunsPage(Page[PipelineRunOut]):
    #: Runs of the last 24 hours per pipeline (only the filtered pipeline when ``pipeline`` is set).
    summary: list[PipelineSummaryOut]
    queue: QueueOut


class TriggeredRunOut(BaseModel):
    run: PipelineRunOut
    #: ``celery``: a worker will claim the run; ``in-process``: this server runs it.
    executor: Literal["celery", "in-process"]


class RejectedRecordOut(BaseModel):
    id: int
    created_at: datetime
    venue: str
    kind: str
    reason: str
    pipeline_run_id: int | None
    payload: str
    payload_truncated: bool


@router.get(
    "/pipelines",
    summary="List recent pipeline runs, newest first",
    responses=problem_responses(422),
    # Live state: runs show at once (every change bumps the version), queue depths within 10 s.
    dependencies=[cached("pipelines", reads=("pipelines",), ttl_seconds=LIVE_TTL_SECONDS)],
)
def list_pipeline_runs(
    session: SessionDep,
    pipeline: Annotated[
        str | None, text_filter(max_length=64, description="Only this pipeline.")
    ] = None,
    status: Annotated[RunStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
    *,
    settings: SettingsDep,
) -> PipelineRunsPage:
    rows, has_more = split_page(
        list(
            repository.list_runs(
                session,
                limit=limit + 1,
                pipeline=pipeline,
                status=status,
                before_id=decode_id_cursor(cursor),
            )
        ),
        limit,
    )
    stats = repository.pipeline_stats(session, since=utcnow() - SUMMARY_WINDOW, pipeline=pipeline)
    return PipelineRunsPage(
        items=[PipelineRunOut.model_validate(run) for run in rows],
        next_cursor=encode_cursor(rows[-1].id) if has_more else None,
        summary=[PipelineSummaryOut.model_validate(stat, from_attributes=True) for stat in stats],
        queue=_queue(settings),
    )


def _queue(settings: Settings) -> QueueOut:
    url = settings.resolved_broker_url
    if url is None:
        return QueueOut(broker="none", available=True, depths={})
    from edgewatch.jobs.celery_app import QUEUES
    from edgewatch.jobs.queue import queue_depths

    depths = queue_depths(url, QUEUES)
    return QueueOut(broker="redis", available=depths is not None, depths=depths or {})


@router.post(
    "/pipelines/{name}/runs",
    status_code=202,
    summary="Trigger a run of a pipeline",
    responses=problem_responses(404, 422, 503),
)
def trigger_pipeline_run(
    name: Annotated[str, Path(max_length=64, description="A pipeline name, e.g. ingest-sim.")],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    background: BackgroundTasks,
) -> TriggeredRunOut:
    """Queue a run now; poll ``GET /pipelines?pipeline=NAME`` (or the returned id) for its end."""
    from edgewatch.jobs.pipelines import available_pipelines

    pipelines = available_pipelines(settings)
    if name not in pipelines:
        raise NotFound(f"no pipeline named {name!r} (available: {', '.join(pipelines)})")
    run = queue_run(session, name)
    # The worker must find the row: commit before the message can be delivered.
    session.commit()
    runs_changed(settings)
    if settings.resolved_broker_url is None:
        engine: Engine = request.app.state.engine
        background.add_task(_run_in_process, name, run.id, settings, engine)
        return TriggeredRunOut(run=PipelineRunOut.model_validate(run), executor="in-process")
    from edgewatch.jobs.celery_app import producer_app
    from edgewatch.jobs.tasks import enqueue_run

    try:
        enqueue_run(producer_app(settings), name, run_id=run.id)
    except Exception as exc:
        mark_skipped(session, run.id, f"could not reach the broker: {exc}")
        session.commit()
        runs_changed(settings)
        raise TemporaryError(f"the job queue is unavailable; run {run.id} was not queued") from exc
    return TriggeredRunOut(run=PipelineRunOut.model_validate(run), executor="celery")


def _run_in_process(name: str, run_id: int, settings: Settings, engine: Engine) -> None:
    from edgewatch.db.session import make_session_factory, session_scope
    from edgewatch.jobs.pipelines import get_pipeline

    try:
        run_pipeline(
            name, get_pipeline(settings, name).step, settings=settings, engine=engine, run_id=run_id
        )
    except PipelineBusy:
        with session_scope(make_session_factory(engine)) as session:
            mark_skipped(session, run_id, f"another run of {name} was in progress")
        runs_changed(settings)
    except Exception:
        log.exception("triggered_run_failed_to_start", pipeline=name, run_id=run_id)


@router.get(
    "/quarantine",
    summary="List quarantined venue records, newest first",
    responses=problem_responses(422),
)
def list_quarantine(
    session: SessionDep,
    venue: Annotated[str | None, text_filter(max_length=32, description="Only this venue.")] = None,
    reason: Annotated[
        str | None, text_filter(max_length=200, description="Only this reason.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[RejectedRecordOut]:
    """Records that failed validation at the venue boundary; payloads are cut at 2,000 chars."""
    rows, has_more = split_page(
        list(
            repository.list_rejected(
                session,
                limit=limit + 1,
                venue=venue,
                reason=reason,
                before_id=decode_id_cursor(cursor),
            )
        ),
        limit,
    )
    preview = repository.PAYLOAD_PREVIEW_CHARS
    items = [
        RejectedRecordOut(
            id=row.id,
            created_at=row.created_at,
            venue=row.venue,
            kind=row.kind,
            reason=row.reason,
            pipeline_run_id=row.pipeline_run_id,
            payload=row.payload[:preview],
            payload_truncated=len(row.payload) > preview,
        )
        for row in rows
    ]
    return Page(items=items, next_cursor=encode_cursor(rows[-1].id) if has_more else None)
