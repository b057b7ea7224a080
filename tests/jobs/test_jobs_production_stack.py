"""End to end, as deployed: ``edgewatch worker`` + ``edgewatch scheduler`` + ``edgewatch serve``.

Three real processes on the test PostgreSQL and Redis, no embedded scheduler: beat sends the one
schedule table, the worker runs the same pipelines the demo runs in-process, and the API serves
what they stored. The simulator is the venue, so the signals are the demo's signals.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from celery_worker import (
    POSTGRES_ADMIN_URL,
    REDIS_TEST_URL,
    START_TIMEOUT,
    celery_worker,
    postgres_database,
    redis_url,
    worker_env,
)
from liveserver import free_port

pytestmark = pytest.mark.skipif(
    not (POSTGRES_ADMIN_URL and REDIS_TEST_URL), reason="needs the test PostgreSQL and Redis"
)

DEMO_PIPELINES = {"ingest-sim", "generate-signals", "match-markets"}


@contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        started = subprocess.Popen(
            [sys.executable, *command], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield started
    finally:
        if started.poll() is None:
            started.send_signal(signal.SIGTERM)
            try:
                started.wait(timeout=30)
            except subprocess.TimeoutExpired:
                started.kill()
                started.wait(timeout=10)


def poll(url: str, check: Any, *, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                last = response.json()
                if check(last):
                    return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(1)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
    raise AssertionError(f"timed out on {url}; last answer: {last!r}\n{tails}")


def succeeded(body: dict[str, Any]) -> set[str]:
    return {run["pipeline"] for run in body["items"] if run["status"] == "succeeded"}


def test_worker_scheduler_and_api_run_the_demo_pipelines(tmp_path: Path) -> None:
    port = free_port()
    with postgres_database() as database_url:
        env = worker_env(
            database_url=database_url,
            broker=redis_url(10),
            data_dir=tmp_path / "data",
            EDGEWATCH_INGEST_INTERVAL_SECONDS="3",
            EDGEWATCH_PUBLIC_READ="true",
            EDGEWATCH_PORT=str(port),
        )
        logs = [tmp_path / "worker.log", tmp_path / "scheduler.log", tmp_path / "api.log"]
        with (
            celery_worker(env, logs[0], concurrency=2),
            process(["-m", "edgewatch.jobs", "scheduler"], env, logs[1]),
            process(["-m", "edgewatch", "serve"], env, logs[2]),
        ):
            base = f"http://127.0.0.1:{port}"
            poll(f"{base}/health", lambda body: True, timeout=START_TIMEOUT, logs=logs)
            signals = poll(
                f"{base}/api/v1/signals?limit=5",
                lambda body: len(body["items"]) > 0,
                timeout=180,
                logs=logs,
            )
            runs = poll(
                f"{base}/api/v1/pipelines?limit=200",
                lambda body: (
                    {run["pipeline"] for run in body["items"] if run["status"] == "succeeded"}
                    >= DEMO_PIPELINES
                ),
                timeout=120,
                logs=logs,
            )
    assert signals["items"][0]["strategy"] == "cross_venue_arbitrage"
    failed = [run for run in runs["items"] if run["status"] == "failed"]
    assert not failed, failed
    api_log = logs[2].read_text(errors="replace")
    assert "scheduler=True" not in api_log and '"scheduler": true' not in api_log
