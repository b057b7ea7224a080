"""The ``retention`` pipeline: the daily run of ``retention.service.run_retention``."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from edgewatch.archive.service import measure_archive, store_from_settings
from edgewatch.jobs.runner import PipelineContext, PipelineOutcome
from edgewatch.retention.service import run_retention


def retention_step(session: Session, context: PipelineContext) -> PipelineOutcome:
    """Archive and delete what is past retention, in its own short transactions.

    The step's session only lends its engine: deleting in batches needs commits of its own, and
    the rows the run removes are recorded as ``rows_stored`` (rows moved to the archive).
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    settings = context.settings
    store = store_from_settings(settings)
    summary = run_retention(
        engine,
        store,
        now=context.now,
        tick_retention_days=settings.tick_retention_days,
        backtest_retention_days=settings.backtest_retention_days,
    )
    archived_bytes = measure_archive(store)
    return PipelineOutcome(
        rows_in=summary.ticks_archived + summary.runs_archived,
        rows_stored=summary.ticks_deleted + summary.runs_deleted,
        details={
            "ticks_deleted": summary.ticks_deleted,
            "runs_deleted": summary.runs_deleted,
            "tick_cutoff": summary.tick_cutoff.isoformat(),
            "run_cutoff": summary.run_cutoff.isoformat(),
            "summary": summary.line(),
            "archive_bytes": archived_bytes,
        },
    )
