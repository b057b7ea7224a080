"""The Celery application, built from ``Settings``: production's workers and beat.

``edgewatch worker`` consumes two queues: ``pipelines`` (the schedule table's jobs and runs
triggered through the API) and ``backtests`` (sweep trials, CPU-heavy, kept apart so a sweep
never delays ingest). ``edgewatch scheduler`` is Celery beat over ``beat_schedule``, which is
``jobs.schedule``'s table — the same one the embedded scheduler runs.

Delivery guarantees, and why each setting is here:

- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged only after its
  task returns, so a worker process that dies mid-task gets its message requeued, not lost;
  ``worker_prefetch_multiplier=1`` keeps a worker from hoarding messages it cannot start.
- On SIGTERM Celery's warm shutdown stops consuming and finishes the tasks in hand; messages it
  had prefetched go back to the queue.
- Redis redelivers an unacknowledged message after ``visibility_timeout``; it must outlast the
  longest task (the hard time limit), or a slow task would be run twice concurrently.
- Messages are JSON only: a writable broker must never be a way to run code in a worker.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from celery import Celery

from edgewatch.config import Settings
from edgewatch.errors import ConfigError
from edgewatch.jobs.schedule import ScheduleEntry

PIPELINES_QUEUE = "pipelines"
BACKTESTS_QUEUE = "backtests"
QUEUES = (PIPELINES_QUEUE, BACKTESTS_QUEUE)
RUN_TASK = "edgewatch.pipelines.run"
TRIAL_TASK = "edgewatch.backtests.trial"
#: Task results (sweep trials only) are kept this long for the caller to collect.
RESULT_EXPIRES = timedelta(hours=6)


def broker_url(settings: Settings) -> str:
    """The broker, or ``ConfigError`` naming the setting to set."""
    url = settings.resolved_broker_url
    if url is None:
        raise ConfigError(
            "no broker configured: set EDGEWATCH_REDIS_URL (e.g. redis://localhost:6379/0) "
            "to run workers, the scheduler or Celery sweeps"
        )
    return url


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app for ``settings``. Connects to nothing until a task is sent or consumed."""
    url = broker_url(settings)
    app = Celery(
        "edgewatch",
        broker=url,
        backend=url,
        include=["edgewatch.jobs.tasks", "edgewatch.jobs.trials"],
    )
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_default_queue=PIPELINES_QUEUE,
        task_routes={TRIAL_TASK: {"queue": BACKTESTS_QUEUE}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        task_soft_time_limit=settings.task_soft_time_limit_seconds,
        task_time_limit=settings.task_time_limit_seconds,
        broker_transport_options={
            "visibility_timeout": max(3600, int(settings.task_time_limit_seconds * 2))
        },
        result_expires=RESULT_EXPIRES,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        timezone="UTC",
        enable_utc=True,
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
    )
    return app


_producers: dict[str, Celery] = {}
_producers_guard = threading.Lock()


def producer_app(settings: Settings) -> Celery:
    """A process-wide app per broker for sending tasks (API, sweeps): one connection pool."""
    url = broker_url(settings)
    with _producers_guard:
        if url not in _producers:
            _producers[url] = create_celery_app(settings)
        return _producers[url]


def beat_entry(entry: ScheduleEntry) -> dict[str, Any]:
    """One ``beat_schedule`` item: send ``RUN_TASK`` for the entry every period.

    The message expires after one period: if no worker took it by then, the next one does the
    same work (cursors), so a backlog built while workers were down is dropped, not replayed.
    """
    seconds = entry.every.total_seconds()
    return {
        "task": RUN_TASK,
        "schedule": entry.every,
        "kwargs": {"pipeline": entry.pipeline, "then": list(entry.then)},
        "options": {"queue": PIPELINES_QUEUE, "expires": seconds},
    }


def beat_schedule(entries: list[ScheduleEntry]) -> dict[str, dict[str, Any]]:
    """Celery beat's schedule for the active schedule table, keyed by pipeline name."""
    return {entry.pipeline: beat_entry(entry) for entry in entries}
