"""Liveness, readiness and the Prometheus endpoint.

Readiness runs named checks; a ``required`` check that fails makes the instance unready (503).
The database check runs under a deadline so a dead or black-holed server cannot hang the probe;
the other checks need the database and are skipped when it is down.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.api.redis_client import REDIS_TIMEOUT_SECONDS
from edgewatch.api.routing import ApiRoute
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db import migrate
from edgewatch.jobs.repository import latest_runs
from edgewatch.markets.repository import newest_tick_by_venue
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import DATA_AGE, READINESS, exposition_registry
from edgewatch.quality.service import recent_counts
from edgewatch.venues.resilience import circuit_states

DATABASE_CHECK_SECONDS = 3.0

CheckStatus = Literal["ok", "warn", "fail"]

router = APIRouter(route_class=ApiRoute, tags=["health"])
log = get_logger(__name__)
_migration_lock = threading.Lock()


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    name: str
    status: CheckStatus
    required: bool
    detail: str


class Readiness(BaseModel):
    """``ready`` is false when a required check failed; ``status`` sums up all checks."""

    ready: bool
    status: Literal["ok", "degraded", "fail"]
    checks: list[Check]


def short_error(exc: BaseException) -> str:
    """The first line of a (database) error, for logs and check details."""
    origin = getattr(exc, "orig", None) or exc
    first_line = (str(origin).strip().splitlines() or [type(origin).__name__])[0]
    return first_line[:200]


class MigrationState:
    """Whether the schema is known to be at head (set at start-up, or later by readiness)."""

    def __init__(self, *, done: bool) -> None:
        self.done = done


def _ping_and_migrate(engine: Engine, url: str, state: MigrationState) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    if not state.done:
        with _migration_lock:
            if not state.done:
                migrate.upgrade(url)
                state.done = True


def check_database(*, engine: Engine, url: str, migration: MigrationState) -> Check:
    """SELECT 1 within ``DATABASE_CHECK_SECONDS``; also applies migrations deferred at start-up."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness")
    future = executor.submit(_ping_and_migrate, engine, url, migration)
    try:
        future.result(timeout=DATABASE_CHECK_SECONDS)
    except FutureTimeout:
        return Check(
            name="database",
            status="fail",
            required=True,
            detail=f"no answer within {DATABASE_CHECK_SECONDS:g} s",
        )
    except Exception as exc:  # a probe reports every failure; it must not answer 500
        log.warning("readiness: database check failed", error=short_error(exc))
        return Check(name="database", status="fail", required=True, detail=short_error(exc))
    finally:
        executor.shutdown(wait=False)
    return Check(name="database", status="ok", required=True, detail="reachable, schema at head")


def check_pipelines(session: Session) -> Check:
    runs = latest_runs(session)
    if not runs:
        return Check(
            name="pipelines", status="warn", required=False, detail="no pipeline has run yet"
        )
    failed = [run for run in runs if run.status == "failed"]
    parts = []
    for run in runs:
        finished = (
            run.finished_at.isoformat(timespec="seconds") if run.finished_at else "not finished"
        )
        parts.append(f"{run.pipeline}: {run.status} ({finished})")
    return Check(
        name="pipelines",
        status="warn" if failed else "ok",
        required=False,
        detail="; ".join(parts),
    )


def check_data_freshness(session: Session, *, settings: Settings, now: datetime) -> Check:
    """Fails when any venue's newest tick is older than ``data_stale_after_hours``.

    Not required: stale data is still worth serving, and taking every API instance out of the load
    balancer would not bring fresh data back. The ``EdgewatchDataStale`` alert pages instead.
    """
    newest = newest_tick_by_venue(session)
    if not newest:
        return Check(
            name="data_freshness",
            status="warn",
            required=False,
            detail="no data yet: the ingest pipeline has not stored a tick",
        )
    limit_seconds = settings.data_stale_after_hours * 3600
    stale, parts = [], []
    for venue, newest_at in sorted(newest.items()):
        age = max((now - newest_at).total_seconds(), 0.0)
        DATA_AGE.labels(venue=venue).set(age)
        parts.append(f"{venue}: newest tick {age:.0f} s old")
        if age > limit_seconds:
            stale.append(venue)
    if stale:
        detail = (
            f"stale (older than {settings.data_stale_after_hours:g} h): {', '.join(stale)}; "
            + "; ".join(parts)
        )
        return Check(name="data_freshness", status="fail", required=False, detail=detail)
    return Check(name="data_freshness", status="ok", required=False, detail="; ".join(parts))


def check_data_quality(session: Session, *, now: datetime) -> Check:
    """What the data-quality checks found in the last 24 hours, by venue and kind.

    Warns on gaps and stale quotes, which mean data is missing or frozen; bad quotes and
    duplicates were quarantined at the boundary and are listed but do not warn. Not required.
    """
    counts = recent_counts(session, now=now)
    if not counts:
        return Check(name="data_quality", status="ok", required=False, detail="no findings in 24 h")
    detail = "last 24 h: " + ", ".join(
        f"{venue} {kind} {count}" for (venue, kind), count in sorted(counts.items())
    )
    missing = any(kind in ("gap", "stale_quote") for _, kind in counts)
    return Check(
        name="data_quality", status="warn" if missing else "ok", required=False, detail=detail
    )


def check_venues() -> Check:
    """Venue circuit breakers: an open circuit means Edgewatch has stopped calling that venue."""
    states = circuit_states()
    if not states:
        return Check(
            name="venues", status="ok", required=False, detail="no venue client in this process"
        )
    detail = "; ".join(f"{name}: {state}" for name, state in sorted(states.items()))
    failing = any(state == "open" for state in states.values())
    return Check(name="venues", status="warn" if failing else "ok", required=False, detail=detail)


def check_models(settings: Settings, *, required: Collection[str] = ()) -> Check:
    """Probability models in the registry: ok when each ``required`` one is active and verifies.

    ``required``: the model names the enabled strategies need. A required model without an active
    version, or any active model whose artifact fails its checksum or no longer fits the feature
    set, is a warning, not a failure: signals from other strategies are still worth serving.
    """
    # Imported here: the registry pulls in scikit-learn, which the API needs for nothing else.
    from edgewatch.forecasting.registry import ModelRegistry

    registry = ModelRegistry.for_data_dir(settings.data_dir)
    names = sorted({*required, *registry.names()})
    statuses = registry.statuses(names)
    problems = [
        status
        for status in statuses
        if status.status != "ok" and (status.name in required or status.status != "missing")
    ]
    usable = [status.detail for status in statuses if status.status == "ok"]
    if problems:
        detail = "; ".join([status.detail for status in problems] + usable)
        return Check(name="models", status="warn", required=False, detail=detail)
    if not usable:
        detail = "no probability models are required by the enabled strategies"
        return Check(name="models", status="ok", required=False, detail=detail)
    return Check(name="models", status="ok", required=False, detail="; ".join(usable))


def check_redis(settings: Settings) -> Check:
    """Redis backs the shared rate limits, the response cache and the Celery queue.

    Not required: the API fails open without it (limits fall back to this process, the cache is
    skipped), so taking instances out of the balancer would make things worse, not better.
    """
    if not settings.redis_url:
        detail = "not configured: rate limits and cache are in this process's memory"
        return Check(name="redis", status="ok", required=False, detail=detail)
    client = Redis.from_url(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except RedisError as exc:
        detail = (
            f"unreachable ({type(exc).__name__}): rate limits are per process, the response "
            "cache is bypassed, pipeline triggers cannot be queued"
        )
        return Check(name="redis", status="warn", required=False, detail=detail)
    finally:
        client.close()
    return Check(name="redis", status="ok", required=False, detail="reachable")


def readiness(
    *,
    engine: Engine,
    session_factory: sessionmaker[Session],
    settings: Settings,
    migration: MigrationState,
) -> Readiness:
    """Run every check. Never raises: a failing dependency is reported, not propagated."""
    database = check_database(
        engine=engine, url=settings.resolved_database_url, migration=migration
    )
    checks = [database]
    if database.status == "ok":
        try:
            with session_factory() as session:
                checks.append(check_pipelines(session))
                checks.append(check_data_freshness(session, settings=settings, now=utcnow()))
                checks.append(check_data_quality(session, now=utcnow()))
        except SQLAlchemyError as exc:
            log.warning("readiness query failed", error=short_error(exc))
            checks.append(
                Check(name="data_freshness", status="fail", required=False, detail=short_error(exc))
            )
    else:
        skipped = "skipped: the database is unavailable"
        checks.append(Check(name="pipelines", status="warn", required=False, detail=skipped))
        checks.append(Check(name="data_freshness", status="fail", required=False, detail=skipped))
    checks.append(check_venues())
    checks.append(check_redis(settings))
    required_models = [settings.signal_model] if settings.signal_model else []
    checks.append(check_models(settings, required=required_models))
    for check in checks:
        READINESS.labels(check=check.name).set(0 if check.status == "fail" else 1)
    ready = not any(check.required and check.status == "fail" for check in checks)
    if not ready:
        status: Literal["ok", "degraded", "fail"] = "fail"
    elif any(check.status != "ok" for check in checks):
        status = "degraded"
    else:
        status = "ok"
    return Readiness(ready=ready, status=status, checks=checks)


def readiness_of(request: Request) -> Readiness:
    state = request.app.state
    return readiness(
        engine=state.engine,
        session_factory=state.session_factory,
        settings=state.settings,
        migration=state.migration,
    )


@router.get("/health", summary="Liveness: the process is up")
async def health() -> Liveness:
    # On the event loop, not in a worker thread: liveness answers while the process is busy.
    return Liveness()


@router.get(
    "/health/ready",
    summary="Readiness: database, pipelines, data freshness and quality, models",
    responses={503: {"model": Readiness, "description": "A required check failed."}},
)
def health_ready(request: Request, response: Response) -> Readiness:
    result = readiness_of(request)
    if not result.ready:
        # Same body either way: load balancers read the status code, people read the checks.
        response.status_code = 503
    return result


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(exposition_registry()), media_type=CONTENT_TYPE_LATEST)
