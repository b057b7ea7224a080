"""The alert rules of ``deploy/prometheus/alerts.yml``, evaluated inside Edgewatch.

Installs without Prometheus still need to hear when something breaks, so the conditions that
guard the SLOs are evaluated here too, from the database and from this process's own state. Each
rule keeps the Prometheus alert's name and runbook, so an operator sees the same alert either way.

- ``EdgewatchPipelineFailures``: a pipeline failed more than twice in the last hour
  (``pipeline_runs``).
- ``EdgewatchDataStale``: a venue's newest tick is older than ``data_stale_after_hours``.
- ``EdgewatchApiHighErrorRate``: over 5 % of this process's API requests in the last 5 minutes
  answered 5xx (with at least ``MIN_REQUESTS`` requests; fewer say nothing about a rate).
- ``EdgewatchApiHighLatency``: the p95 of this process's API latency histogram over the last
  5 minutes is above 1 s.
- ``EdgewatchDatabasePoolExhausted``: every connection of this process's pool is checked out.
- ``EdgewatchDatabaseConnectionsNearLimit``: PostgreSQL has over 80 % of ``max_connections``
  in use (``pg_stat_activity``).
- ``EdgewatchVenueDown``: a venue's circuit breaker in this process is open (its API failed
  repeatedly); it resolves when a trial call succeeds and the circuit closes.
- ``EdgewatchDatabaseUnreachableFromApp``: the evaluator cannot connect to the database
  (raised by ``alerts.tasks``, since no rule can query a database that is down).

The HTTP rules see only the process that evaluates them: in ``edgewatch serve`` with the embedded
scheduler that is the API itself; a Celery worker serves no requests, so there they never fire.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from edgewatch.config import Settings
from edgewatch.markets.repository import newest_tick_by_venue
from edgewatch.models import PipelineRun
from edgewatch.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS
from edgewatch.venues.resilience import circuit_states

Severity = Literal["critical", "warning", "info"]

RUNBOOKS = "https://github.com/edgewatch/edgewatch/blob/main/docs/runbooks"
PIPELINE_FAILURES_PER_HOUR = 2
ERROR_RATE_LIMIT = 0.05
LATENCY_P95_LIMIT_SECONDS = 1.0
HTTP_WINDOW_SECONDS = 300.0
#: Fewer requests than this in the window say nothing about an error rate or a percentile.
MIN_REQUESTS = 20
SERVER_CONNECTIONS_LIMIT = 0.8


@dataclass(frozen=True, slots=True)
class FiringAlert:
    """One alert whose condition holds now (or one event), identified by rule and labels."""

    rule: str
    severity: Severity
    summary: str
    description: str
    labels: dict[str, str] = field(default_factory=dict)
    value: float | None = None
    runbook: str | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.labels)


def fingerprint(rule: str, labels: dict[str, str]) -> str:
    """The identity of an alert: the same rule and labels are the same alert across restarts."""
    canonical = json.dumps([rule, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RuleContext:
    session: Session
    settings: Settings
    now: datetime
    engine: Engine | None
    http: HttpWindow


Rule = Callable[[RuleContext], list[FiringAlert]]


def pipeline_failures(context: RuleContext) -> list[FiringAlert]:
    since = context.now - timedelta(hours=1)
    rows = context.session.execute(
        select(PipelineRun.pipeline, func.count())
        .where(PipelineRun.status == "failed", PipelineRun.started_at >= since)
        .group_by(PipelineRun.pipeline)
    ).all()
    return [
        FiringAlert(
            rule="EdgewatchPipelineFailures",
            severity="critical",
            labels={"pipeline": pipeline},
            value=float(failures),
            summary=f"Pipeline {pipeline} failed more than twice in an hour",
            description=f"{failures} runs of the {pipeline} pipeline failed in the last hour.",
            runbook=f"{RUNBOOKS}/pipeline-failures.md",
        )
        for pipeline, failures in sorted(rows)
        if failures > PIPELINE_FAILURES_PER_HOUR
    ]


def data_stale(context: RuleContext) -> list[FiringAlert]:
    limit = timedelta(hours=context.settings.data_stale_after_hours)
    alerts = []
    for venue, newest in sorted(newest_tick_by_venue(context.session).items()):
        age = context.now - newest
        if age > limit:
            hours = age.total_seconds() / 3600
            alerts.append(
                FiringAlert(
                    rule="EdgewatchDataStale",
                    severity="critical",
                    labels={"venue": venue},
                    value=round(age.total_seconds()),
                    summary=f"No fresh data from {venue} for more than "
                    f"{context.settings.data_stale_after_hours:g} hours",
                    description=f"The newest stored tick from {venue} is {hours:.1f} h old. "
                    "Signals for this venue are built on stale prices.",
                    runbook=f"{RUNBOOKS}/data-stale.md",
                )
            )
    return alerts


def api_error_rate(context: RuleContext) -> list[FiringAlert]:
    window = context.http.current()
    if window.requests < MIN_REQUESTS:
        return []
    rate = window.errors / window.requests
    if rate <= ERROR_RATE_LIMIT:
        return []
    return [
        FiringAlert(
            rule="EdgewatchApiHighErrorRate",
            severity="critical",
            value=round(rate, 4),
            summary="Edgewatch API 5xx error rate above 5 %",
            description=f"{rate:.1%} of {window.requests:.0f} API requests failed with a 5xx "
            f"status over the last {_span(window.seconds)} (SLO: under 5 %).",
            runbook=f"{RUNBOOKS}/api-errors.md",
        )
    ]


def api_latency(context: RuleContext) -> list[FiringAlert]:
    window = context.http.current()
    if window.requests < MIN_REQUESTS:
        return []
    p95 = histogram_quantile(0.95, window.buckets)
    if p95 is None or p95 <= LATENCY_P95_LIMIT_SECONDS:
        return []
    return [
        FiringAlert(
            rule="EdgewatchApiHighLatency",
            severity="warning",
            value=round(p95, 3),
            summary="Edgewatch API p95 latency above 1 s",
            description=f"The 95th percentile of API request latency was {p95:.2f} s over the "
            f"last {_span(window.seconds)} (SLO: under 1 s).",
            runbook=f"{RUNBOOKS}/api-latency.md",
        )
    ]


def _span(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 90 else f"{seconds:.0f} s"


def pool_exhausted(context: RuleContext) -> list[FiringAlert]:
    pool = context.engine.pool if context.engine is not None else None
    if not isinstance(pool, QueuePool):
        return []  # SQLite's pool has no fixed size to run out of
    capacity = pool.size() + max(pool._max_overflow, 0)
    # The evaluation itself holds one connection; count the others.
    in_use = pool.checkedout() - 1
    if capacity <= 1 or in_use < capacity - 1:
        return []
    return [
        FiringAlert(
            rule="EdgewatchDatabasePoolExhausted",
            severity="warning",
            value=float(in_use + 1),
            summary="Database connection pool exhausted",
            description=f"All {capacity} connections of this process's pool are in use; further "
            "requests wait for a free connection and time out.",
            runbook=f"{RUNBOOKS}/db-connections.md",
        )
    ]


def server_connections(context: RuleContext) -> list[FiringAlert]:
    if context.session.get_bind().dialect.name != "postgresql":
        return []
    in_use = context.session.scalar(text("SELECT count(*) FROM pg_stat_activity")) or 0
    limit = int(context.session.scalar(text("SHOW max_connections")) or 0)
    if limit <= 0 or in_use / limit <= SERVER_CONNECTIONS_LIMIT:
        return []
    return [
        FiringAlert(
            rule="EdgewatchDatabaseConnectionsNearLimit",
            severity="warning",
            value=round(in_use / limit, 4),
            summary="PostgreSQL connections above 80 % of max_connections",
            description=f"{in_use} of {limit} connections are in use; new connections are "
            "refused at 100 %.",
            runbook=f"{RUNBOOKS}/db-connections.md",
        )
    ]


def venue_down(context: RuleContext) -> list[FiringAlert]:
    return [
        FiringAlert(
            rule="EdgewatchVenueDown",
            severity="warning",
            labels={"venue": venue},
            value=1.0,
            summary=f"{venue} API is failing: its circuit breaker is {state.replace('_', '-')}",
            description=f"Calls to {venue} failed repeatedly, so Edgewatch stopped calling it and "
            "retries with one trial call at a time. Ingest from this venue is paused.",
            runbook=f"{RUNBOOKS}/venue-down.md",
        )
        for venue, state in sorted(circuit_states().items())
        if state != "closed"
    ]


def database_unreachable(error: str) -> FiringAlert:
    return FiringAlert(
        rule="EdgewatchDatabaseUnreachableFromApp",
        severity="critical",
        summary="Edgewatch cannot reach its database",
        description=f"Connecting to the database failed: {error}",
        runbook=f"{RUNBOOKS}/database-down.md",
    )


#: Every condition rule evaluated from the database and process state, in report order.
RULES: tuple[Rule, ...] = (
    pipeline_failures,
    data_stale,
    api_error_rate,
    api_latency,
    pool_exhausted,
    server_connections,
    venue_down,
)

#: Names of the condition rules (for documentation and ``alerts list``).
RULE_NAMES = (
    "EdgewatchPipelineFailures",
    "EdgewatchDataStale",
    "EdgewatchApiHighErrorRate",
    "EdgewatchApiHighLatency",
    "EdgewatchDatabasePoolExhausted",
    "EdgewatchDatabaseConnectionsNearLimit",
    "EdgewatchVenueDown",
    "EdgewatchDatabaseUnreachableFromApp",
)


def evaluate(context: RuleContext) -> list[FiringAlert]:
    """Every condition alert that holds now."""
    context.http.sample()
    return [alert for rule in RULES for alert in rule(context)]


# --- this process's HTTP metrics over a sliding window ------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpSnapshot:
    """Cumulative HTTP counters at one moment (monotonic seconds)."""

    at: float
    requests: float
    errors: float
    #: Cumulative latency histogram summed over routes: ``(upper bound, count)``, ascending.
    buckets: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class HttpDelta:
    seconds: float
    requests: float
    errors: float
    buckets: tuple[tuple[float, float], ...]


class HttpWindow:
    """Differences of this process's HTTP counters over the last ``window_seconds``.

    Prometheus computes ``rate(...[5m])`` from scrapes; here each evaluation takes a snapshot and
    compares it with the newest snapshot at least ``window_seconds`` old, or with the first one
    while the process is younger than that. One snapshot alone says nothing (no traffic yet).
    """

    def __init__(self, *, window_seconds: float = HTTP_WINDOW_SECONDS) -> None:
        self.window_seconds = window_seconds
        self._snapshots: deque[HttpSnapshot] = deque()
        self._lock = threading.Lock()

    def sample(self, snapshot: HttpSnapshot | None = None) -> None:
        taken = snapshot or read_http_metrics()
        with self._lock:
            self._snapshots.append(taken)
            # Keep one snapshot at or before the window start as the baseline.
            while (
                len(self._snapshots) > 1 and taken.at - self._snapshots[1].at >= self.window_seconds
            ):
                self._snapshots.popleft()

    def current(self) -> HttpDelta:
        with self._lock:
            if len(self._snapshots) < 2:
                return HttpDelta(0.0, 0.0, 0.0, ())
            first, last = self._snapshots[0], self._snapshots[-1]
        before = dict(first.buckets)
        return HttpDelta(
            seconds=last.at - first.at,
            requests=last.requests - first.requests,
            errors=last.errors - first.errors,
            buckets=tuple((bound, count - before.get(bound, 0.0)) for bound, count in last.buckets),
        )


def read_http_metrics() -> HttpSnapshot:
    """The HTTP request counter and latency histogram of this process, summed over routes."""
    requests = errors = 0.0
    for metric in HTTP_REQUESTS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                requests += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    errors += sample.value
    buckets: dict[float, float] = {}
    for metric in HTTP_LATENCY.collect():
        for sample in metric.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return HttpSnapshot(
        at=time.monotonic(),
        requests=requests,
        errors=errors,
        buckets=tuple(sorted(buckets.items())),
    )


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """Prometheus's ``histogram_quantile`` over cumulative ``(upper bound, count)`` buckets.

    Linear interpolation inside the bucket holding the rank; a rank in the ``+Inf`` bucket gives
    the highest finite bound. ``None`` when there are no observations.
    """
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            share = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound
