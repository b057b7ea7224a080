"""``/health``, ``/health/ready`` and ``/metrics`` for ``edgewatch worker`` and ``scheduler``.

Workers and beat have no API, but Kubernetes probes them and Prometheus scrapes them on
``EDGEWATCH_METRICS_PORT``. Liveness is the process answering; readiness is the broker (Redis
``PING``) and, for workers, the database (``SELECT 1``), each under a short timeout. A scrape
refreshes ``edgewatch_queue_depth`` first.

Prefork worker processes count their pipeline runs in their own memory; with
``PROMETHEUS_MULTIPROC_DIR`` set (a writable, empty directory, before the worker starts) every
process writes there and ``/metrics`` sums them, as ``prometheus_client`` documents.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text

from edgewatch.jobs.celery_app import QUEUES
from edgewatch.jobs.queue import queue_depths
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import exposition_registry

log = get_logger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0

Check = Callable[[], str | None]


def broker_check(url: str) -> Check:
    def check() -> str | None:
        client = redis.Redis.from_url(
            url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        except redis.RedisError as exc:
            return f"broker: {exc}"
        finally:
            client.close()
        return None

    return check


def database_check(engine: Engine) -> Check:
    def check() -> str | None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            return f"database: {str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}"
        return None

    return check


def serve_probes(
    *, port: int, host: str, checks: list[Check], broker_url: str
) -> ThreadingHTTPServer:
    """Serve the probes on ``host:port`` from a daemon thread; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, "application/json", json.dumps({"status": "ok"}).encode())
            elif self.path == "/health/ready":
                failures = [problem for check in checks if (problem := check()) is not None]
                body = {"ready": not failures, "failures": failures}
                self._send(503 if failures else 200, "application/json", json.dumps(body).encode())
            elif self.path == "/metrics":
                queue_depths(broker_url, QUEUES)
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(exposition_registry()))
            else:
                self._send(404, "application/json", b'{"detail": "not found"}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # probes every few seconds would drown the logs

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="edgewatch-probes", daemon=True).start()
    log.info("probes_serving", host=host, port=port)
    return server
