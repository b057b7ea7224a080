"""The embedded scheduler: the demo's stand-in for Celery beat and workers, in one thread.

Every ``ingest_interval_seconds`` it runs each ingest pipeline and then ``generate-signals``;
``match-markets`` runs at start and then hourly. All go through the same ``run_pipeline`` path a
worker uses. Failures are recorded in ``pipeline_runs``
and logged; the loop carries on. ``stop()`` lets the step in hand finish, then returns.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from edgewatch.config import Settings
from edgewatch.db.session import make_session_factory
from edgewatch.errors import PipelineBusy
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.runner import run_pipeline
from edgewatch.observability.logging import get_logger

log = get_logger(__name__)
MATCH_INTERVAL_SECONDS = 3600.0


class EmbeddedScheduler:
    def __init__(self, *, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._factory = make_session_factory(engine)
        self._pipelines = available_pipelines(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_match: float | None = None
        self.cycles = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="edgewatch-scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler_started", interval_seconds=self.settings.ingest_interval_seconds)

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        log.info("scheduler_stopped", cycles=self.cycles)

    def run_cycle(self) -> None:
        """Ingest from every source, then generate signals: one tick of the schedule."""
        order = [name for name in self._pipelines if name.startswith("ingest-")]
        now = time.monotonic()
        if self._last_match is None or now - self._last_match >= MATCH_INTERVAL_SECONDS:
            order.append("match-markets")
            self._last_match = now
        order.append("generate-signals")
        for name in order:
            if self._stop.is_set():
                return
            try:
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

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_cycle()
            self._stop.wait(self.settings.ingest_interval_seconds)
