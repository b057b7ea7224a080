"""``edgewatch worker`` and ``edgewatch scheduler``: Celery workers and beat, from ``Settings``.

Both refuse to start, in one line, without a broker (``EDGEWATCH_REDIS_URL``) or when the broker
(and, for workers, the database) cannot be reached, instead of retrying silently forever. With
``EDGEWATCH_METRICS_PORT`` set they serve ``/health``, ``/health/ready`` and ``/metrics`` there.
"""

from __future__ import annotations

import socket
from typing import Annotated
from urllib.parse import urlsplit

import typer
from sqlalchemy import text

from edgewatch.config import Settings, load_settings
from edgewatch.db.engine import create_db_engine
from edgewatch.errors import DatabaseUnavailable, TemporaryError
from edgewatch.jobs.celery_app import QUEUES, RUN_TASK, beat_schedule, broker_url, create_celery_app
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.probe import Check, broker_check, database_check, serve_probes
from edgewatch.jobs.schedule import active_schedule
from edgewatch.observability.logging import configure_logging, get_logger

log = get_logger(__name__)


def _require_broker(settings: Settings) -> str:
    url = broker_url(settings)
    problem = broker_check(url)()
    if problem is not None:
        where = urlsplit(url)
        reason = problem.removeprefix("broker: ")
        # Host and port only: the URL may carry a password.
        raise TemporaryError(f"cannot reach the broker at {where.hostname}:{where.port}: {reason}")
    return url


def _require_database(settings: Settings) -> None:
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot use the database at {engine.url.render_as_string()}: {reason}"
        ) from exc
    finally:
        engine.dispose()


def _keep_our_logging(settings: Settings) -> None:
    """Celery configures logging itself unless someone answers its ``setup_logging`` signal."""
    from celery.signals import setup_logging

    def configure(**_: object) -> None:
        configure_logging(level=settings.log_level, fmt=settings.log_format)

    setup_logging.connect(configure, weak=False)


def _probes(settings: Settings, url: str, checks: list[Check]) -> None:
    if settings.metrics_port is not None:
        serve_probes(port=settings.metrics_port, host=settings.host, checks=checks, broker_url=url)


def worker_command(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Tasks run at once (default: EDGEWATCH_WORKER_CONCURRENCY)."),
    ] = None,
    queues: Annotated[
        str, typer.Option(help=f"Comma-separated queues to consume ({', '.join(QUEUES)}).")
    ] = ",".join(QUEUES),
    pool: Annotated[
        str, typer.Option(help="Celery pool: prefork (time limits enforced) or solo.")
    ] = "prefork",
) -> None:
    """Run a Celery worker for pipelines and sweep trials. SIGTERM finishes the task in hand."""
    settings = load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    unknown = sorted(set(queues.split(",")) - set(QUEUES))
    if unknown:
        raise typer.BadParameter(f"unknown queue(s) {', '.join(unknown)}", param_hint="--queues")
    if pool not in {"prefork", "solo"}:
        raise typer.BadParameter("use prefork or solo", param_hint="--pool")
    url = _require_broker(settings)
    _require_database(settings)
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    _probes(settings, url, [broker_check(url), database_check(engine)])
    app = create_celery_app(settings)
    _keep_our_logging(settings)
    log.info("worker_starting", queues=queues, pool=pool)
    app.worker_main(
        [
            "worker",
            f"--loglevel={settings.log_level.upper()}",
            f"--concurrency={concurrency or settings.worker_concurrency}",
            f"--queues={queues}",
            f"--pool={pool}",
            f"--hostname=edgewatch@{socket.gethostname()}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def scheduler_command() -> None:
    """Run Celery beat over the schedule table (docs/operations.md). Run exactly one."""
    settings = load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    url = _require_broker(settings)
    entries = active_schedule(settings, available_pipelines(settings))
    app = create_celery_app(settings)
    app.conf.beat_schedule = beat_schedule(entries)
    _keep_our_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _probes(settings, url, [broker_check(url)])
    # Beat's first run of an interval entry is one period after start; these cannot wait.
    for entry in entries:
        if entry.at_start:
            app.send_task(RUN_TASK, kwargs={"pipeline": entry.pipeline, "then": list(entry.then)})
    log.info("scheduler_starting", entries={e.pipeline: e.every.total_seconds() for e in entries})
    app.Beat(loglevel=settings.log_level.upper()).run()


def main() -> None:
    """``python -m edgewatch.jobs worker|scheduler``: the same commands, without importing the
    whole CLI (models, alerts, archives) first — a worker starts in about a second."""
    import sys

    from edgewatch.errors import EdgewatchError, error_line

    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
    app.command("worker")(worker_command)
    app.command("scheduler")(scheduler_command)
    try:
        app()
    except EdgewatchError as exc:
        print(error_line(exc.message), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
