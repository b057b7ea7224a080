"""One alert evaluation: check the rules, update alert state, notify the channels.

``evaluate_and_notify`` is the step of the ``evaluate-alerts`` pipeline (the database is up —
the pipeline runner needed it). ``database_unreachable`` is what the scheduler calls when it
could not even start that pipeline because the database is down: that alert is kept in this
process (``MemoryStore``) and resolved by the next evaluation that reaches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from edgewatch.alerts import rules
from edgewatch.alerts.channels import Channel, configured_channels
from edgewatch.alerts.notifier import DatabaseStore, MemoryStore, deliver, reconcile
from edgewatch.config import Settings

#: This process's HTTP counters over the last 5 minutes, shared by every evaluation here.
HTTP_WINDOW = rules.HttpWindow()
#: The database-down alert, which cannot be stored while the database is down.
DATABASE_DOWN = MemoryStore()
_DATABASE_RULE = "EdgewatchDatabaseUnreachableFromApp"


@dataclass(slots=True)
class EvaluationResult:
    firing: list[rules.FiringAlert]
    sent: int = 0
    failed: list[str] = field(default_factory=list)


def evaluate_and_notify(
    session: Session,
    settings: Settings,
    *,
    now: datetime,
    channels: dict[str, Channel] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> EvaluationResult:
    """Evaluate every rule, store the alert state and deliver what each channel is owed."""
    bind = session.get_bind()
    context = rules.RuleContext(
        session=session,
        settings=settings,
        now=now,
        engine=bind if isinstance(bind, Engine) else None,
        http=HTTP_WINDOW,
    )
    firing = rules.evaluate(context)
    targets = _targets(settings, channels, transport)
    repeat = timedelta(minutes=settings.alert_repeat_interval_minutes)
    store = DatabaseStore(session)
    checked = [name for name in rules.RULE_NAMES if name != _DATABASE_RULE]
    reconcile(store, firing, rules_checked=checked, now=now)
    # We reached the database, so a database-down alert from earlier is over.
    reconcile(DATABASE_DOWN, [], rules_checked=[_DATABASE_RULE], now=now)
    result = EvaluationResult(firing=firing)
    for owed in (DATABASE_DOWN, store):
        report = deliver(owed, targets, now=now, repeat_interval=repeat)
        result.sent += report.sent
        result.failed.extend(report.failed)
    session.flush()
    return result


def database_unreachable(
    settings: Settings,
    error: str,
    *,
    now: datetime,
    channels: dict[str, Channel] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> EvaluationResult:
    """Fire (once) the database-down alert from this process's memory and notify it."""
    alert = rules.database_unreachable(error)
    reconcile(DATABASE_DOWN, [alert], rules_checked=[_DATABASE_RULE], now=now)
    targets = _targets(settings, channels, transport)
    repeat = timedelta(minutes=settings.alert_repeat_interval_minutes)
    report = deliver(DATABASE_DOWN, targets, now=now, repeat_interval=repeat)
    return EvaluationResult(firing=[alert], sent=report.sent, failed=report.failed)


def _targets(
    settings: Settings, channels: dict[str, Channel] | None, transport: httpx.BaseTransport | None
) -> dict[str, Channel]:
    return channels if channels is not None else configured_channels(settings, transport=transport)
