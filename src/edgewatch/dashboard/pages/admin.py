"""``/admin``: pipeline runs with a button to run one, quarantined records, the model registry.

A pipeline started here runs after the response, through ``jobs.runner.run_pipeline`` like the
scheduler's runs (one lock per pipeline: a second start while one runs is recorded as refused in
the log and changes nothing). The pipeline table is built once per process: building it creates
venue clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Engine
from starlette.responses import Response

from edgewatch.api.deps import SessionDep, SettingsDep
from edgewatch.api.pagination import decode_id_cursor, encode_cursor, split_page
from edgewatch.config import Settings
from edgewatch.dashboard import forms
from edgewatch.dashboard.routing import DashboardRoute, url_with
from edgewatch.dashboard.templating import render
from edgewatch.dashboard.viewer import viewer_of
from edgewatch.errors import NotFound, PipelineBusy
from edgewatch.jobs import repository
from edgewatch.jobs.pipelines import PipelineSpec, available_pipelines
from edgewatch.jobs.runner import run_pipeline
from edgewatch.markets.repository import venue_names
from edgewatch.models.pipeline import RUN_STATUSES
from edgewatch.observability.logging import get_logger

router = APIRouter(route_class=DashboardRoute)
log = get_logger(__name__)

PAGE_SIZE = 50
MAX_MODEL_VERSIONS = 20
Text = Annotated[str | None, Query(max_length=300)]


def pipelines_of(request: Request, settings: Settings) -> dict[str, PipelineSpec]:
    state = request.app.state
    specs: dict[str, PipelineSpec] | None = getattr(state, "dashboard_pipelines", None)
    if specs is None:
        specs = state.dashboard_pipelines = available_pipelines(settings)
    return specs


@router.get("/admin", summary="Dashboard: administration (HTML)", response_class=HTMLResponse)
def admin(request: Request) -> Response:
    viewer_of(request).require("admin")
    return render(request, "admin.html")


@router.get(
    "/admin/pipelines", summary="Dashboard: pipeline runs (HTML)", response_class=HTMLResponse
)
def pipelines(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    pipeline: Text = None,
    status: Text = None,
    cursor: Text = None,
    started: Text = None,
) -> Response:
    viewer_of(request).require("admin")
    specs = pipelines_of(request, settings)
    names = sorted({*specs, *repository.pipeline_names(session)})
    chosen = forms.choice(pipeline, name="pipeline", allowed=names)
    chosen_status = forms.choice(status, name="status", allowed=RUN_STATUSES)
    rows, has_more = split_page(
        list(
            repository.list_runs(
                session,
                limit=PAGE_SIZE + 1,
                pipeline=chosen,
                status=chosen_status,
                before_id=decode_id_cursor(forms.text(cursor, name="cursor")),
            )
        ),
        PAGE_SIZE,
    )
    latest = {run.pipeline: run for run in repository.latest_runs(session)}
    return render(
        request,
        "admin_pipelines.html",
        {
            "specs": list(specs.values()),
            "latest": latest,
            "runs": rows,
            "names": names,
            "statuses": RUN_STATUSES,
            "filters": {"pipeline": chosen, "status": chosen_status},
            "started": forms.choice(started, name="started", allowed=specs),
            "next_url": url_with(request, cursor=encode_cursor(rows[-1].id)) if has_more else None,
            "first_url": url_with(request, cursor=None) if cursor else None,
        },
    )


def _run_in_background(name: str, spec: PipelineSpec, settings: Settings, engine: Engine) -> None:
    try:
        run_pipeline(name, spec.step, settings=settings, engine=engine)
    except PipelineBusy:
        log.info("pipeline_skipped_busy", pipeline=name, started_by="dashboard")


@router.post(
    "/admin/pipelines/{name}/run",
    summary="Dashboard: run a pipeline now",
    response_class=HTMLResponse,
)
def run_now(
    request: Request,
    settings: SettingsDep,
    background: BackgroundTasks,
    name: Annotated[str, Path(max_length=64)],
) -> Response:
    viewer_of(request).require("pipelines:run")
    specs = pipelines_of(request, settings)
    spec = specs.get(name)
    if spec is None:
        raise NotFound(f"no pipeline named {name!r} (available: {', '.join(specs)})")
    background.add_task(_run_in_background, name, spec, settings, request.app.state.engine)
    return RedirectResponse(f"/admin/pipelines?started={name}", status_code=303)


@router.get(
    "/admin/quarantine",
    summary="Dashboard: quarantined records (HTML)",
    response_class=HTMLResponse,
)
def quarantine(
    request: Request,
    session: SessionDep,
    venue: Text = None,
    reason: Text = None,
    cursor: Text = None,
) -> Response:
    viewer_of(request).require("admin")
    venues = venue_names(session)
    chosen_venue = forms.text(venue, name="venue", max_length=32)
    chosen_reason = forms.text(reason, name="reason")
    rows, has_more = split_page(
        list(
            repository.list_rejected(
                session,
                limit=PAGE_SIZE + 1,
                venue=chosen_venue,
                reason=chosen_reason,
                before_id=decode_id_cursor(forms.text(cursor, name="cursor")),
            )
        ),
        PAGE_SIZE,
    )
    return render(
        request,
        "admin_quarantine.html",
        {
            "rows": rows,
            "venues": venues,
            "filters": {"venue": chosen_venue or "", "reason": chosen_reason or ""},
            "filtered": bool(chosen_venue or chosen_reason),
            "preview": repository.PAYLOAD_PREVIEW_CHARS,
            "next_url": url_with(request, cursor=encode_cursor(rows[-1].id)) if has_more else None,
            "first_url": url_with(request, cursor=None) if cursor else None,
        },
    )


@dataclass(frozen=True, slots=True)
class ModelVersion:
    version: str
    active: bool
    created_at: str | None
    metrics: dict[str, Any]
    training: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    status: str
    detail: str
    versions: list[ModelVersion]
    more_versions: int


@router.get(
    "/admin/models", summary="Dashboard: model registry (HTML)", response_class=HTMLResponse
)
def models(request: Request, settings: SettingsDep) -> Response:
    viewer_of(request).require("admin")
    # Imported here: the registry pulls in scikit-learn, which no other page needs.
    from edgewatch.forecasting.registry import ModelRegistry

    registry = ModelRegistry.for_data_dir(settings.data_dir)
    entries = []
    for name in registry.names():
        status = registry.status(name)
        all_versions = registry.versions(name)
        shown = list(reversed(all_versions))[:MAX_MODEL_VERSIONS]
        versions = []
        for version in shown:
            try:
                metadata = registry.metadata(name, version)
            except NotFound:
                continue
            test_metrics = (metadata.get("metrics") or {}).get("test") or {}
            versions.append(
                ModelVersion(
                    version=version,
                    active=version == status.active,
                    created_at=metadata.get("created_at"),
                    metrics={k: v for k, v in test_metrics.items() if isinstance(v, int | float)},
                    training=metadata.get("training") or {},
                )
            )
        entries.append(
            ModelEntry(
                name=name,
                status=status.status,
                detail=status.detail,
                versions=versions,
                more_versions=max(len(all_versions) - MAX_MODEL_VERSIONS, 0),
            )
        )
    return render(
        request,
        "admin_models.html",
        {"entries": entries, "required": settings.signal_model},
    )
