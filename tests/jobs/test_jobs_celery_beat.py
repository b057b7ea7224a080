"""``edgewatch scheduler`` (Celery beat) for real: what it enqueues, and its probes."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import redis

from celery_worker import POSTGRES_ADMIN_URL, REDIS_TEST_URL, redis_url, worker_env
from edgewatch.jobs.celery_app import PIPELINES_QUEUE, RUN_TASK
from liveserver import free_port

pytestmark = pytest.mark.skipif(
    not (POSTGRES_ADMIN_URL and REDIS_TEST_URL),
    reason="needs EDGEWATCH_TEST_POSTGRES_URL and EDGEWATCH_TEST_REDIS_URL",
)
REDIS_DB = 15
START_TIMEOUT = 120.0


def _queued(client: redis.Redis) -> list[dict[str, object]]:
    """The kwargs of every ``RUN_TASK`` message waiting in the pipelines queue."""
    messages = []
    for raw in client.lrange(PIPELINES_QUEUE, 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == RUN_TASK
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        messages.append(kwargs)
    return messages


def test_the_scheduler_enqueues_the_table_and_serves_its_probes(
    db_url: str, tmp_path: Path
) -> None:
    broker = redis_url(REDIS_DB)
    port = free_port()
    env = worker_env(
        database_url=db_url,
        broker=broker,
        data_dir=tmp_path / "data",
        EDGEWATCH_INGEST_INTERVAL_SECONDS="1",
        EDGEWATCH_METRICS_PORT=str(port),
        EDGEWATCH_HOST="127.0.0.1",
    )
    client = redis.Redis.from_url(broker)
    log = tmp_path / "scheduler.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "edgewatch.jobs", "scheduler"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            ingests = [m for m in _queued(client) if m["pipeline"] == "ingest-sim"]
            if len(ingests) >= 3:  # the one sent at start, then one a second
                break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        counts = Counter(str(m["pipeline"]) for m in _queued(client))
        # At start: every registered entry marked at_start; hourly and daily ones wait a period.
        assert counts["match-markets"] == 1
        assert "retention" not in counts
        assert ingests[0]["then"][0] == "generate-signals"  # signals after ingest

        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/health").json() == {"status": "ok"}
        ready = httpx.get(f"{base}/health/ready")
        assert (ready.status_code, ready.json()["ready"]) == (200, True)
        metrics = httpx.get(f"{base}/metrics").text
        waiting = client.llen(PIPELINES_QUEUE)
        assert f'edgewatch_queue_depth{{queue="{PIPELINES_QUEUE}"}}' in metrics
        depth = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith(f'edgewatch_queue_depth{{queue="{PIPELINES_QUEUE}"}}')
        )
        assert abs(depth - waiting) <= 2  # beat keeps sending while we read
        assert (tmp_path / "data" / "celerybeat-schedule").exists() or any(
            (tmp_path / "data").glob("celerybeat-schedule*")
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        client.close()


def test_the_scheduler_without_a_broker_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = worker_env(database_url="sqlite:///unused.db", broker="", data_dir=tmp_path)
    del env["EDGEWATCH_REDIS_URL"]
    result = subprocess.run(
        [sys.executable, "-m", "edgewatch.jobs", "scheduler"],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "edgewatch: no broker configured: set EDGEWATCH_REDIS_URL (e.g. redis://localhost:6379/0) "
        "to run workers, the scheduler or Celery sweeps"
    ]
