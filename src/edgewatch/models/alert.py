"""Alert state: one row per alert (rule + labels), so notifications survive restarts.

A ``condition`` alert (pipeline failures, stale data…) fires while its rule holds and resolves
when it stops holding; an ``event`` alert (a high-confidence signal) is raised once, written in
the same transaction as what caused it, and resolves silently after a while. ``deliveries``
records, per channel, the last status that channel was told and when — that is what keeps a
firing alert to one notification per channel and makes a failed delivery retry on the next
evaluation without repeating it on the channels that already have it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edgewatch.clock import utcnow
from edgewatch.models.base import Base

ALERT_KINDS = ("condition", "event")
ALERT_STATUSES = ("firing", "resolved")


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint("kind IN ('condition', 'event')", name="kind"),
        CheckConstraint("status IN ('firing', 'resolved')", name="status"),
        Index("ix_alerts_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of the rule and its labels: the identity that deduplicates notifications.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    labels: Mapped[dict[str, Any]]
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="firing")
    value: Mapped[float | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Last evaluation that saw the alert firing (or when it resolved).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    #: ``{channel: {"status": "firing" | "resolved", "at": ISO time}}`` — what each was told.
    deliveries: Mapped[dict[str, Any]] = mapped_column(default=dict)
