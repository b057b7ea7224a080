"""The ``evaluate-alerts`` pipeline step, and the scheduler's way to run it."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.alerts.service import database_unreachable, evaluate_and_notify
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.errors import DatabaseUnavailable
from edgewatch.jobs.runner import PipelineContext, PipelineOutcome, run_pipeline
from edgewatch.models import PipelineRun
from edgewatch.observability.logging import get_logger

PIPELINE = "evaluate-alerts"
log = get_logger(__name__)


def evaluate_alerts_step(session: Session, context: PipelineContext) -> PipelineOutcome:
    result = evaluate_and_notify(session, context.settings, now=context.now)
    return PipelineOutcome(
        rows_in=len(result.firing),
        rows_stored=result.sent,
        rows_rejected=len(result.failed),
        details={
            "firing": sorted({alert.rule for alert in result.firing}),
            "sent": result.sent,
            "failed": result.failed[:20],
        },
    )


def run_alerts_pipeline(
    *, settings: Settings, engine: Engine, session_factory: sessionmaker[Session] | None = None
) -> PipelineRun | None:
    """Run ``evaluate-alerts``; if the database is down, send the database-down alert instead.

    Returns the run, or ``None`` when the database could not be reached.
    """
    try:
        return run_pipeline(
            PIPELINE,
            evaluate_alerts_step,
            settings=settings,
            engine=engine,
            session_factory=session_factory,
        )
    except (OperationalError, DatabaseUnavailable) as exc:
        error = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        log.error("alerts_database_unreachable", error=error)
        database_unreachable(settings, error, now=utcnow())
        return None
