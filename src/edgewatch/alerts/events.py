"""Alert events: things worth telling someone about once, raised inside the caller's transaction.

A high-confidence signal is stored, audited and raised as an alert event in one transaction, so
an event exists exactly when its signal does (an outbox): the next ``evaluate-alerts`` run
delivers it, and a crash in between loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from edgewatch.alerts.notifier import DatabaseStore, new_alert
from edgewatch.alerts.rules import RUNBOOKS, FiringAlert

HIGH_CONFIDENCE_RULE = "EdgewatchHighConfidenceSignal"


def raise_event(session: Session, event: FiringAlert, *, now: datetime) -> bool:
    """Store ``event`` unless one with its rule and labels exists; True if it was stored."""
    store = DatabaseStore(session)
    if store.find(event.fingerprint) is not None:
        return False
    store.add(new_alert(event, kind="event", now=now))
    return True


def high_confidence_signal(
    *,
    signal_id: int,
    strategy: str,
    market_id: int,
    side: str,
    limit_price: float,
    edge: float,
    confidence: float,
    threshold: float,
    extra: dict[str, Any] | None = None,
) -> FiringAlert:
    """The alert event for one stored signal at or above ``threshold`` confidence."""
    labels = {"strategy": strategy, "signal_id": str(signal_id), "market_id": str(market_id)}
    labels.update({key: str(value) for key, value in (extra or {}).items()})
    return FiringAlert(
        rule=HIGH_CONFIDENCE_RULE,
        severity="info",
        labels=labels,
        value=confidence,
        summary=f"High-confidence signal from {strategy}: buy {side.upper()} on market "
        f"{market_id} at {limit_price:.4f}",
        description=f"Signal {signal_id} has confidence {confidence:.2f} (threshold "
        f"{threshold:.2f}) and an edge of {edge:.4f} per contract after fees.",
        runbook=f"{RUNBOOKS}/high-confidence-signals.md",
    )
