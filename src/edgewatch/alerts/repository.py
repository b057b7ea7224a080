"""Alert queries for readers (the dashboard); the evaluator keeps its own state in ``notifier``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.models.alert import Alert


def firing_alerts(session: Session, *, limit: int) -> list[Alert]:
    """Alerts firing as of the last ``evaluate-alerts`` run, newest first."""
    return list(
        session.scalars(
            select(Alert)
            .where(Alert.status == "firing")
            .order_by(Alert.started_at.desc(), Alert.id.desc())
            .limit(limit)
        )
    )
