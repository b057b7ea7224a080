"""The ``data-quality`` pipeline step (hourly in ``jobs.schedule``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from edgewatch.jobs.runner import PipelineContext, PipelineOutcome
from edgewatch.quality.service import run_checks, thresholds_from

#: How far back the first run (no cursor yet) looks.
FIRST_WINDOW = timedelta(hours=24)


def data_quality_step(session: Session, context: PipelineContext) -> PipelineOutcome:
    """Check what arrived since the previous run's cursor (the last day on the first run)."""
    start = context.now - FIRST_WINDOW
    if context.previous_cursor:
        start = max(datetime.fromisoformat(context.previous_cursor), start)
    if start >= context.now:
        return PipelineOutcome(cursor=context.now.isoformat())
    run = run_checks(
        session,
        start=start,
        end=context.now,
        thresholds=thresholds_from(context.settings),
        now=context.now,
    )
    return PipelineOutcome(
        rows_in=run.ticks_checked + run.quarantined_checked,
        rows_stored=run.new,
        cursor=context.now.isoformat(),
        details={"found": dict(run.found), "new": run.new, "extended": run.extended},
    )
