"""Turning alert state into notifications: one per firing alert and channel, then one resolve.

Two steps, run after every evaluation:

1. ``reconcile`` brings the stored state in line with what fires now: a new alert (rule + labels)
   is stored ``firing``; one that no longer fires is marked ``resolved`` — but only for the rules
   this evaluation actually checked, so a partial evaluation never resolves what it did not look
   at. Events (high-confidence signals) are stored by whoever raises them and resolve silently
   after ``EVENT_VISIBLE_FOR``.
2. ``deliver`` tells every configured channel what it has not been told yet: ``firing`` once (and
   again every ``repeat_interval`` while it keeps firing), ``resolved`` once if it was told it
   fired. What each channel was told is stored per alert, so a restart sends nothing twice and a
   channel that failed is retried on the next evaluation without repeating the others.

Delivery runs inside the evaluation's transaction: a crash after sending and before the commit
sends that notification once more (at least once, never lost).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from edgewatch.alerts.channels import Channel, Notification
from edgewatch.alerts.rules import FiringAlert
from edgewatch.errors import NotificationFailed
from edgewatch.models import Alert
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import ALERT_NOTIFICATIONS

log = get_logger(__name__)
#: How long an event stays listed as firing; events never send a resolve message.
EVENT_VISIBLE_FOR = timedelta(hours=1)
#: How long a resolve that could not be delivered is retried.
RESOLVE_RETRY_FOR = timedelta(hours=24)


class AlertStore(Protocol):
    def open_alerts(self, *, now: datetime) -> list[Alert]:
        """Firing alerts, and alerts resolved recently enough that a resolve may be owed."""
        ...

    def find(self, fingerprint: str) -> Alert | None: ...

    def add(self, alert: Alert) -> None: ...


class DatabaseStore:
    """Alert state in the ``alerts`` table (the normal case: survives restarts)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open_alerts(self, *, now: datetime) -> list[Alert]:
        return list(
            self.session.scalars(
                select(Alert)
                .where(or_(Alert.status == "firing", Alert.resolved_at >= now - RESOLVE_RETRY_FOR))
                .order_by(Alert.id)
            )
        )

    def find(self, fingerprint: str) -> Alert | None:
        return self.session.scalars(select(Alert).where(Alert.fingerprint == fingerprint)).first()

    def add(self, alert: Alert) -> None:
        self.session.add(alert)
        self.session.flush()


class MemoryStore:
    """Alert state in this process, for the one alert that cannot be stored: the database is down.

    Unsaved ``Alert`` objects behave as plain records. A restart while the database is down sends
    its alert once more — the only case where a notification can repeat early.
    """

    def __init__(self) -> None:
        self._alerts: dict[str, Alert] = {}

    def open_alerts(self, *, now: datetime) -> list[Alert]:
        return [
            alert
            for alert in self._alerts.values()
            if alert.status == "firing"
            or (alert.resolved_at is not None and alert.resolved_at >= now - RESOLVE_RETRY_FOR)
        ]

    def find(self, fingerprint: str) -> Alert | None:
        return self._alerts.get(fingerprint)

    def add(self, alert: Alert) -> None:
        self._alerts[alert.fingerprint] = alert


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: list[str] = field(default_factory=list)


def new_alert(firing: FiringAlert, *, kind: str, now: datetime) -> Alert:
    return Alert(
        fingerprint=firing.fingerprint,
        rule=firing.rule,
        kind=kind,
        labels=dict(firing.labels),
        severity=firing.severity,
        summary=firing.summary[:300],
        description=_describe(firing),
        status="firing",
        value=firing.value,
        started_at=now,
        updated_at=now,
        resolved_at=None,
        deliveries={},
    )


def reconcile(
    store: AlertStore,
    firing: Collection[FiringAlert],
    *,
    rules_checked: Collection[str],
    now: datetime,
) -> None:
    """Store what fires now and resolve what stopped firing among ``rules_checked``."""
    current = {alert.fingerprint: alert for alert in firing}
    for fingerprint, alert in current.items():
        stored = store.find(fingerprint)
        if stored is None:
            store.add(new_alert(alert, kind="condition", now=now))
            log.warning("alert_firing", rule=alert.rule, labels=alert.labels)
            continue
        if stored.status != "firing":
            stored.status, stored.started_at, stored.resolved_at = "firing", now, None
            log.warning("alert_firing", rule=alert.rule, labels=alert.labels)
        stored.updated_at, stored.value = now, alert.value
        stored.summary, stored.description = alert.summary[:300], _describe(alert)
    for stored in store.open_alerts(now=now):
        if stored.status != "firing":
            continue
        stale_event = stored.kind == "event" and now - stored.started_at >= EVENT_VISIBLE_FOR
        stopped = (
            stored.kind == "condition"
            and stored.rule in rules_checked
            and stored.fingerprint not in current
        )
        if stale_event or stopped:
            stored.status, stored.resolved_at, stored.updated_at = "resolved", now, now
            if stopped:
                log.info("alert_resolved", rule=stored.rule, labels=stored.labels)


def deliver(
    store: AlertStore,
    channels: Mapping[str, Channel],
    *,
    now: datetime,
    repeat_interval: timedelta,
) -> DeliveryReport:
    """Send every channel what it is owed (see the module docstring); never raises for a channel."""
    report = DeliveryReport()
    for alert in store.open_alerts(now=now):
        for name, channel in channels.items():
            if not _owed(alert, name, now=now, repeat_interval=repeat_interval):
                continue
            try:
                channel.send(notification_of(alert))
            except NotificationFailed as exc:
                ALERT_NOTIFICATIONS.labels(channel=name, status="failed").inc()
                log.warning("alert_notification_failed", channel=name, error=exc.message)
                report.failed.append(exc.message)
                continue
            ALERT_NOTIFICATIONS.labels(channel=name, status="sent").inc()
            # Reassign: in-place changes to a JSON column are not tracked.
            alert.deliveries = {
                **alert.deliveries,
                name: {"status": alert.status, "at": now.isoformat()},
            }
            report.sent += 1
    return report


def notification_of(alert: Alert) -> Notification:
    description, _, runbook = alert.description.partition("\nrunbook: ")
    return Notification(
        status="resolved" if alert.status == "resolved" else "firing",
        rule=alert.rule,
        severity=alert.severity,
        summary=alert.summary,
        description=description,
        started_at=alert.started_at,
        labels=dict(alert.labels),
        value=alert.value,
        resolved_at=alert.resolved_at,
        runbook=runbook or None,
        kind="event" if alert.kind == "event" else "condition",
    )


def _owed(alert: Alert, channel: str, *, now: datetime, repeat_interval: timedelta) -> bool:
    told = alert.deliveries.get(channel)
    if alert.status == "resolved":
        return alert.kind == "condition" and told is not None and told["status"] == "firing"
    if told is None or told["status"] != "firing":
        return True
    if alert.kind == "event":
        return False
    return now - datetime.fromisoformat(told["at"]) >= repeat_interval


def _describe(firing: FiringAlert) -> str:
    # The runbook travels in the description so the table needs no column for it.
    return firing.description + (f"\nrunbook: {firing.runbook}" if firing.runbook else "")
