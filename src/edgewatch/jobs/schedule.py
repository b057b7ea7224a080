"""THE schedule: when each pipeline runs, for the embedded scheduler and for Celery beat alike.

Both ``jobs.scheduler.EmbeddedScheduler`` (the demo, in-process) and ``edgewatch scheduler``
(Celery beat, production) read ``schedule_table`` and nothing else, so the two cannot drift.
Entries name pipelines; a name that ``jobs.pipelines`` does not register (yet) is skipped with
one log line per process, so a pipeline added there is scheduled on the next start without
touching this table.

===================  =============================  ==========================================
pipeline             every                          then
===================  =============================  ==========================================
ingest-<source>      EDGEWATCH_INGEST_INTERVAL_...  generate-signals (new ticks → signals),
                                                   paper-trade (signals → paper orders, fills)
match-markets        1 hour (and at start)          —
evaluate-alerts      1 minute (and at start)        —
data-quality         1 hour (and at start)          —
retention            1 day                          —
backup               1 day                          —
retrain-models       1 week                         —
===================  =============================  ==========================================

``then`` pipelines run after the entry's run finishes (succeeded or failed; not when it was
skipped because another run held the lock — that run triggers them). In the embedded
scheduler the follow-ups of every entry due in one cycle run once, after all of them; under
Celery each finished ingest enqueues its own ``generate-signals`` and the pipeline lock makes a
concurrent one a no-op (its work is picked up from the cursor by the run in progress or the next).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from edgewatch.config import Settings
from edgewatch.observability.logging import get_logger

log = get_logger(__name__)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
#: New ticks become signals, then paper orders and fills.
AFTER_INGEST = ("generate-signals", "paper-trade")


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    pipeline: str
    every: timedelta
    #: Pipelines to run once this one has finished.
    then: tuple[str, ...] = ()
    #: Run when the scheduler starts instead of one period later (cheap, freshness-critical jobs).
    at_start: bool = False


def schedule_table(settings: Settings) -> tuple[ScheduleEntry, ...]:
    """Every scheduled pipeline, registered or not, in the order a cycle runs them."""
    ingest_every = timedelta(seconds=settings.ingest_interval_seconds)
    ingest = tuple(
        ScheduleEntry(f"ingest-{source}", ingest_every, then=AFTER_INGEST, at_start=True)
        for source in settings.sources
    )
    return (
        *ingest,
        ScheduleEntry("match-markets", HOUR, at_start=True),
        ScheduleEntry("evaluate-alerts", MINUTE, at_start=True),
        ScheduleEntry("data-quality", HOUR, at_start=True),
        ScheduleEntry("retention", DAY),
        ScheduleEntry("backup", DAY),
        ScheduleEntry("retrain-models", WEEK),
    )


_reported_missing: set[str] = set()


def active_schedule(settings: Settings, registered: Collection[str]) -> list[ScheduleEntry]:
    """The entries whose pipeline is registered, with unregistered follow-ups dropped.

    Each missing name is logged once per process (``scheduled_pipeline_not_registered``).
    """
    active = []
    for entry in schedule_table(settings):
        missing = [name for name in (entry.pipeline, *entry.then) if name not in registered]
        for name in missing:
            if name not in _reported_missing:
                _reported_missing.add(name)
                log.info("scheduled_pipeline_not_registered", pipeline=name)
        if entry.pipeline in registered:
            then = tuple(name for name in entry.then if name in registered)
            active.append(
                ScheduleEntry(entry.pipeline, entry.every, then=then, at_start=entry.at_start)
            )
    return active
