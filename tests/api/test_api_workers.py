"""``edgewatch serve`` with ``EDGEWATCH_API_WORKERS=2``: two processes, one listening port, and
``/metrics`` that counts every process's requests whichever process answers the scrape."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from edgewatch.db.scratch import free_port

REQUESTS = 60


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def _health_requests(metrics: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("edgewatch_http_requests_total{") and 'route="/health"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _gauge_lines(metrics: str, name: str) -> list[str]:
    return [line for line in metrics.splitlines() if re.match(rf"{name}(\{{| )", line)]


def test_two_worker_processes_serve_one_port_and_pool_their_metrics(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")},
        "EDGEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'edgewatch.db'}",
        "EDGEWATCH_DATA_DIR": str(tmp_path),
        "EDGEWATCH_PORT": str(port),
        "EDGEWATCH_API_WORKERS": "2",
        "EDGEWATCH_LOG_LEVEL": "warning",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "edgewatch", "serve"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        # The supervisor's children: the two workers (and multiprocessing's resource tracker).
        while len(_children(server.pid)) < 2 or not _answers(url):
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.5)
        workers = _children(server.pid)
        metrics_dir = Path(_environ(workers[0])["PROMETHEUS_MULTIPROC_DIR"])
        assert metrics_dir.is_dir()

        before = _health_requests(httpx.get(f"{url}/metrics").text)
        for _ in range(REQUESTS):
            # A new connection each time, so the kernel hands them to either process.
            assert httpx.get(f"{url}/health", headers={"Connection": "close"}).status_code == 200
        # Each process that counted a request has its own file, named by its pid.
        answered_by = {path.name for path in metrics_dir.glob("counter_*.db")}
        assert len(answered_by) == 2, answered_by

        # Every scrape, whichever process answers it, sees every process's requests.
        for _ in range(6):
            text = httpx.get(f"{url}/metrics", headers={"Connection": "close"}).text
            assert _health_requests(text) == before + REQUESTS
            assert len(_gauge_lines(text, "edgewatch_http_requests_in_flight")) == 1

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert not metrics_dir.exists(), "the temporary metrics directory outlived the server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)
