"""The embedded scheduler: the demo's stand-in for Celery beat and workers, in one thread.

It runs the one schedule table (``jobs.schedule``): each cycle runs the entries that are due, in
table order, then the union of their follow-ups (``generate-signals`` after ingest) once. All go
through the same ``run_pipeline`` path a Celery worker uses. Failures are recorded in
``pipeline_runs`` and logged; the loop carries on. ``stop()`` lets the step in hand finish, then
returns.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from edgewatch.alerts.tasks import PIPELINE as ALERTS_PIPELINE
from edgewatch.alerts.tasks import run_alerts_pipeline
from edgewatch.config import Settings
from edgewatch.db.session import make_session_factory
from edgewatch.errors import PipelineBusy
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.runner import run_pipeline
from edgewatch.jobs.schedule import active_schedule
from edgewatch.observability.logging import get_logger

log = get_logger(__name__)


class EmbeddedScheduler:
    def __init__(self, *, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._factory = make_session_factory(engine)
        self._pipelines = available_pipelines(settings)
        self.entries = active_schedule(settings, self._pipelines)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        start = time.monotonic()
        #: Monotonic time each entry is next due, by pipeline name.
        self._due = {
            entry.pipeline: start if entry.at_start else start + entry.every.total_seconds()
            for entry in self.entries
        }
        self.cycles = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="edgewatch-scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler_started", entries=[entry.pipeline for entry in self.entries])

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        log.info("scheduler_stopped", cycles=self.cycles)

    def due(self, now: float) -> list[str]:
        """The pipelines to run at monotonic time ``now``: due entries, then their follow-ups."""
        order: list[str] = []
        follow_ups: list[str] = []
        for entry in self.entries:
            if self._due[entry.pipeline] <= now:
                order.append(entry.pipeline)
                follow_ups.extend(name for name in entry.then if name not in follow_ups)
        return order + [name for name in follow_ups if name not in order]

    def run_cycle(self, now: float | None = None) -> list[str]:
        """Run what is due (``now`` defaults to the current monotonic time); returns the names."""
        now = time.monotonic() if now is None else now
        names = self.due(now)
        for entry in self.entries:
            if self._due[entry.pipeline] <= now:
                self._due[entry.pipeline] = now + entry.every.total_seconds()
        for name in names:
            if self._stop.is_set():
                break
            try:
                if name == ALERTS_PIPELINE:
                    # Alerts must go out even when the database they are about is down.
                    run_alerts_pipeline(
                        settings=self.settings, engine=self.engine, session_factory=self._factory
                    )
                    continue
                run_pipeline(
                    name,
                    self._pipelines[name].step,
                    settings=self.settings,
                    engine=self.engine,
                    session_factory=self._factory,
                )
            except PipelineBusy:
                log.info("pipeline_skipped_busy", pipeline=name)
            except Exception:
                # run_pipeline records step failures itself; this is the database being down.
                log.exception("pipeline_could_not_start", pipeline=name)
        self.cycles += 1
        return names

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_cycle()
            next_due = min(self._due.values(), default=time.monotonic() + 60)
            self._stop.wait(max(0.0, next_due - time.monotonic()))
