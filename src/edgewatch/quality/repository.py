"""Reading stored findings: the API's list and the CLI's report share one bounded query."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edgewatch.models import QualityFinding


def list_findings(
    session: Session,
    *,
    limit: int,
    venue: str | None = None,
    market_id: int | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
) -> list[QualityFinding]:
    """Findings newest first (by id); ``since`` keeps those whose episode ended at or after it."""
    stmt = select(QualityFinding)
    if venue is not None:
        stmt = stmt.where(QualityFinding.venue == venue)
    if market_id is not None:
        stmt = stmt.where(QualityFinding.market_id == market_id)
    if kind is not None:
        stmt = stmt.where(QualityFinding.kind == kind)
    if since is not None:
        stmt = stmt.where(QualityFinding.end_ts >= since)
    if before_id is not None:
        stmt = stmt.where(QualityFinding.id < before_id)
    return list(session.scalars(stmt.order_by(QualityFinding.id.desc()).limit(limit)))


def count_findings(
    session: Session, *, venue: str | None = None, since: datetime | None = None
) -> dict[tuple[str, str], int]:
    """How many findings per (venue, kind), with the same filters as ``list_findings``."""
    stmt = select(QualityFinding.venue, QualityFinding.kind, func.count())
    if venue is not None:
        stmt = stmt.where(QualityFinding.venue == venue)
    if since is not None:
        stmt = stmt.where(QualityFinding.end_ts >= since)
    rows = session.execute(stmt.group_by(QualityFinding.venue, QualityFinding.kind)).all()
    return {(row_venue, row_kind): count for row_venue, row_kind, count in rows}
