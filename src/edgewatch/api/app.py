"""The application factory. Nothing connects at import: the lifespan creates the engine.

Start-up: configure logging, create the engine and session factory, migrate to head, start the
embedded scheduler when enabled. A database that is unreachable at start-up does not stop the
process: liveness stays up, readiness answers 503 and applies the migrations once it can connect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from anyio import to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from edgewatch.accounts.access import authorize, rule_for
from edgewatch.accounts.router import install as install_accounts
from edgewatch.api import health
from edgewatch.api.admission import AdmissionMiddleware
from edgewatch.api.cache import install_response_cache
from edgewatch.api.disclaimers import router as disclaimers_router
from edgewatch.api.middleware import RequestContextMiddleware
from edgewatch.api.openapi import install_openapi
from edgewatch.api.problems import install_problem_handlers
from edgewatch.api.ratelimit import RateLimitMiddleware
from edgewatch.api.redis_client import create_async_redis
from edgewatch.api.security import BodySizeLimitMiddleware, SecurityHeadersMiddleware, install_cors
from edgewatch.backtest.router import router as backtests_router
from edgewatch.config import Settings, get_settings
from edgewatch.dashboard.router import router as dashboard_router
from edgewatch.db import migrate, replica
from edgewatch.db.engine import create_db_engine
from edgewatch.db.instrumentation import watch_storage
from edgewatch.db.session import make_session_factory
from edgewatch.jobs.router import router as jobs_router
from edgewatch.markets.links_router import router as links_router
from edgewatch.markets.router import router as markets_router
from edgewatch.observability.logging import configure_logging, get_logger
from edgewatch.paper.router import router as paper_router
from edgewatch.quality.router import router as quality_router
from edgewatch.signals.router import router as signals_router
from edgewatch.signals.scoring_router import router as scoring_router

STATIC_DIR = Path(__file__).resolve().parent.parent / "dashboard" / "static"

log = get_logger(__name__)


def _version() -> str:
    try:
        return version("edgewatch")
    except PackageNotFoundError:
        return "0.0.0"


def _migrate_at_start(url: str) -> bool:
    try:
        migrate.upgrade(url)
    except OperationalError as exc:
        log.error(
            "database unreachable at start-up; migrations deferred until it answers",
            error=health.short_error(exc),
        )
        return False
    return True


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    url = settings.resolved_database_url
    engine = create_db_engine(url)
    read_engine = replica.create_read_engine(settings)
    watch_storage(engine)
    try:
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.read_session_factory = replica.read_session_factory(read_engine, engine)
        migrated = await to_thread.run_sync(_migrate_at_start, url)
        app.state.migration = health.MigrationState(done=migrated)
        scheduler = None
        if settings.embedded_scheduler:
            from edgewatch.jobs.scheduler import EmbeddedScheduler

            scheduler = EmbeddedScheduler(settings=settings, engine=engine)
            scheduler.start()
        log.info("api started", environment=settings.environment, scheduler=scheduler is not None)
        try:
            yield
        finally:
            if scheduler is not None:
                await to_thread.run_sync(scheduler.stop)
    finally:
        watch_storage(engine, watch=False)
        engine.dispose()
        if read_engine is not None:
            read_engine.dispose()
        if app.state.redis is not None:
            await app.state.redis.aclose()
        log.info("api stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API and dashboard; ``settings`` defaults to the process-wide settings."""
    app = FastAPI(
        title="Edgewatch",
        summary="Prediction-market intelligence: markets, ticks, signals and pipelines.",
        version=_version(),
        lifespan=_lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        # Every route is checked against accounts/access.py's table; one without an entry refuses.
        dependencies=[Depends(authorize)],
    )
    settings = app.state.settings = settings or get_settings()
    app.state.redis = create_async_redis(settings)
    install_problem_handlers(app)
    install_openapi(app, access_rule=rule_for)
    # Middleware, innermost first (each add wraps the previous): the outer layers refuse cheap
    # requests (rate limit, body size) before anything is parsed or authenticated, and a request
    # over its rate limit never takes one of the admission slots (api/admission.py).
    install_response_cache(app, settings, app.state.redis)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AdmissionMiddleware, settings=settings)
    app.add_middleware(RateLimitMiddleware, settings=settings, redis=app.state.redis)
    install_cors(app, settings)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(disclaimers_router)
    app.include_router(markets_router)
    app.include_router(signals_router)
    app.include_router(jobs_router)
    app.include_router(links_router)
    app.include_router(scoring_router)
    app.include_router(backtests_router)
    app.include_router(paper_router)
    app.include_router(quality_router)
    app.include_router(dashboard_router)
    install_accounts(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
