"""Queries over pipeline runs and quarantined records, shared by the API, health and dashboard."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from edgewatch.models import PipelineRun, RejectedRecord

#: Raw payloads are returned up to this many characters; the rest stays in the database.
PAYLOAD_PREVIEW_CHARS = 2000
#: Upper bound on distinct pipelines reported by ``latest_runs``.
MAX_PIPELINES = 100


def list_runs(
    session: Session,
    *,
    limit: int,
    pipeline: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
) -> Sequence[PipelineRun]:
    """Pipeline runs, newest first by id."""
    stmt = select(PipelineRun)
    if pipeline is not None:
        stmt = stmt.where(PipelineRun.pipeline == pipeline)
    if status is not None:
        stmt = stmt.where(PipelineRun.status == status)
    if before_id is not None:
        stmt = stmt.where(PipelineRun.id < before_id)
    return session.scalars(stmt.order_by(PipelineRun.id.desc()).limit(limit)).all()


def pipeline_names(session: Session, *, limit: int = MAX_PIPELINES) -> list[str]:
    """Distinct pipeline names, in order.

    A recursive query jumps from one name to the next through the ``(pipeline, started_at)``
    index, so it costs one index probe per pipeline however many runs are stored.
    """
    names = select(func.min(PipelineRun.pipeline).label("name")).cte("names", recursive=True)
    following = (
        select(func.min(PipelineRun.pipeline))
        .where(PipelineRun.pipeline > names.c.name)
        .scalar_subquery()
    )
    names = names.union_all(select(following).where(names.c.name.is_not(None)))
    stmt = select(names.c.name).where(names.c.name.is_not(None)).limit(limit)
    return [name for name in session.scalars(stmt).all() if name is not None]


def latest_runs(session: Session, *, limit: int = MAX_PIPELINES) -> list[PipelineRun]:
    """The most recent run of each pipeline, ordered by pipeline name."""
    runs = []
    for name in pipeline_names(session, limit=limit):
        run = session.scalars(
            select(PipelineRun)
            .where(PipelineRun.pipeline == name)
            .order_by(PipelineRun.started_at.desc(), PipelineRun.id.desc())
            .limit(1)
        ).first()
        if run is not None:
            runs.append(run)
    return runs


def list_rejected(
    session: Session,
    *,
    limit: int,
    venue: str | None = None,
    reason: str | None = None,
    before_id: int | None = None,
) -> Sequence[Row[Any]]:
    """Quarantined records newest first, with the payload cut to ``PAYLOAD_PREVIEW_CHARS + 1``."""
    stmt = select(
        RejectedRecord.id,
        RejectedRecord.created_at,
        RejectedRecord.venue,
        RejectedRecord.kind,
        RejectedRecord.reason,
        RejectedRecord.pipeline_run_id,
        func.substr(RejectedRecord.payload, 1, PAYLOAD_PREVIEW_CHARS + 1).label("payload"),
    )
    if venue is not None:
        stmt = stmt.where(RejectedRecord.venue == venue)
    if reason is not None:
        stmt = stmt.where(RejectedRecord.reason == reason)
    if before_id is not None:
        stmt = stmt.where(RejectedRecord.id < before_id)
    return session.execute(stmt.order_by(RejectedRecord.id.desc()).limit(limit)).all()


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """How one pipeline fared over a window: run counts by status and finished-run durations."""

    pipeline: str
    runs: int
    by_status: dict[str, int]
    mean_duration_seconds: float | None
    p95_duration_seconds: float | None
    max_duration_seconds: float | None
    last_started_at: datetime | None
    last_status: str | None


def pipeline_stats(
    session: Session, *, since: datetime, pipeline: str | None = None
) -> list[PipelineStats]:
    """Per-pipeline statistics of the runs started at or after ``since``, by pipeline name.

    Durations are computed here rather than in SQL, the same way on SQLite and PostgreSQL; the
    window bounds the rows read (one a minute per pipeline is ~1,440 a day).
    """
    stmt = select(
        PipelineRun.pipeline, PipelineRun.status, PipelineRun.started_at, PipelineRun.finished_at
    ).where(PipelineRun.started_at >= since)
    if pipeline is not None:
        stmt = stmt.where(PipelineRun.pipeline == pipeline)
    grouped: dict[str, list[Row[Any]]] = {}
    for row in session.execute(stmt.order_by(PipelineRun.started_at)).all():
        grouped.setdefault(row.pipeline, []).append(row)
    stats = []
    for name in sorted(grouped):
        rows = grouped[name]
        durations = sorted(
            (row.finished_at - row.started_at).total_seconds()
            for row in rows
            if row.finished_at is not None and row.status in ("succeeded", "failed")
        )
        by_status: dict[str, int] = {}
        for row in rows:
            by_status[row.status] = by_status.get(row.status, 0) + 1
        stats.append(
            PipelineStats(
                pipeline=name,
                runs=len(rows),
                by_status=by_status,
                mean_duration_seconds=sum(durations) / len(durations) if durations else None,
                p95_duration_seconds=_percentile(durations, 0.95),
                max_duration_seconds=durations[-1] if durations else None,
                last_started_at=rows[-1].started_at,
                last_status=rows[-1].status,
            )
        )
    return stats


def _percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending sequence."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
