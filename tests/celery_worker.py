"""Real Celery workers for tests: ``python -m edgewatch.jobs worker`` in a subprocess.

The worker runs against the test PostgreSQL and a Redis database number of the test's choosing
(so suites sharing the test Redis never consume each other's messages). ``python -m
edgewatch.jobs`` is the ``edgewatch worker`` command without the rest of the CLI's imports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from celery import Celery
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from edgewatch.config import Settings
from edgewatch.db import migrate
from edgewatch.jobs.celery_app import create_celery_app

POSTGRES_ADMIN_URL = os.environ.get("EDGEWATCH_TEST_POSTGRES_URL")
REDIS_TEST_URL = os.environ.get("EDGEWATCH_TEST_REDIS_URL")
#: Worker start-up on a busy 2-core machine (imports dominate): generous, but bounded.
START_TIMEOUT = 120.0


def redis_url(db: int) -> str:
    """The test Redis with database number ``db``, emptied."""
    assert REDIS_TEST_URL
    url = urlsplit(REDIS_TEST_URL)._replace(path=f"/{db}").geturl()
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh migrated PostgreSQL database for a whole test module (workers outlive a test)."""
    assert POSTGRES_ADMIN_URL
    name = f"edgewatch_jobs_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def worker_env(*, database_url: str, broker: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    env.update(
        EDGEWATCH_ENVIRONMENT="test",
        EDGEWATCH_SECRET_KEY="test-secret-key-not-a-placeholder",
        EDGEWATCH_SECRETS_DIR="/nonexistent-edgewatch-secrets",
        EDGEWATCH_DATABASE_URL=database_url,
        EDGEWATCH_REDIS_URL=broker,
        EDGEWATCH_DATA_DIR=str(data_dir),
        EDGEWATCH_SIM_EVENTS="24",
        EDGEWATCH_LOG_FORMAT="json",
        EDGEWATCH_TASK_RETRY_BACKOFF_SECONDS="0.5",
        EDGEWATCH_TASK_MAX_RETRIES="3",
    )
    env.update(extra)
    return env


def producer(env: dict[str, str]) -> Celery:
    """A Celery app configured like the worker, for sending tasks and pinging."""
    settings = Settings(
        environment="test",
        secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
        redis_url=env["EDGEWATCH_REDIS_URL"],
        database_url=env["EDGEWATCH_DATABASE_URL"],
        data_dir=Path(env["EDGEWATCH_DATA_DIR"]),
    )
    return create_celery_app(settings)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pool_pids(self) -> list[int]:
        """The prefork pool's processes (the worker's children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, worker: Worker) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker.process.poll() is not None:
            raise AssertionError(f"worker exited while waiting for {what}:\n{worker.output()}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{worker.output()[-4000:]}")


@contextmanager
def celery_worker(
    env: dict[str, str], log: Path, *, concurrency: int = 1, queues: str = "pipelines"
) -> Iterator[Worker]:
    """Start a worker, wait until it answers a ping, stop it (SIGTERM, then SIGKILL) at the end."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edgewatch.jobs",
                "worker",
                f"--concurrency={concurrency}",
                f"--queues={queues}",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(process, log)
    app = producer(env)
    try:
        wait_for(
            lambda: app.control.ping(timeout=0.5),
            timeout=START_TIMEOUT,
            what="the worker to answer a ping",
            worker=worker,
        )
        yield worker
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        app.close()
