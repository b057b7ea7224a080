"""How ``edgewatch serve`` runs the app: one uvicorn configuration, with or without TLS, in one
process or several.

Kept apart from the CLI so tests can run exactly the server production runs. Two choices matter:
- uvicorn's own proxy-header handling is off. Which peers may set ``X-Forwarded-For`` is
  Edgewatch's decision (``EDGEWATCH_TRUSTED_PROXIES``, read by the rate limiter), and uvicorn's
  default would silently trust any local process.
- With a certificate and key configured the server speaks HTTPS itself; requests then carry the
  ``https`` scheme, which turns on HSTS and ``Secure`` cookies.

With ``EDGEWATCH_API_WORKERS`` > 1, uvicorn's supervisor runs that many worker processes on one
listening socket, each building the app from the environment (``create_app()``), and restarts
any that die. One Python process uses at most one core, so this is how one host uses its cores
(``bench/load.py`` measured the difference; docs/performance.md). The processes' metrics are
pooled through ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless the operator
sets one), so ``/metrics`` counts every process's requests whichever process answers the scrape.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from edgewatch.config import Settings

APP_FACTORY = "edgewatch.api.app:create_app"
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

GRACEFUL_SHUTDOWN_SECONDS = 10


def base_url(settings: Settings) -> str:
    scheme = "https" if settings.tls_cert_file is not None else "http"
    return f"{scheme}://{settings.host}:{settings.port}"


def run_server(settings: Settings) -> None:
    """Serve until stopped: in this process, or in ``settings.api_workers`` processes."""
    if settings.api_workers == 1:
        from edgewatch.api.app import create_app

        uvicorn.Server(server_config(create_app(settings), settings)).run()
        return
    with _shared_metrics_directory():
        config = server_config(APP_FACTORY, settings)
        Multiprocess(config, sockets=[config.bind_socket()]).run()


@contextmanager
def _shared_metrics_directory() -> Iterator[Path]:
    """The directory the worker processes pool their metrics in, emptied before they start.

    Left-over files would add a previous run's counts to this one's.
    """
    configured = os.environ.get(METRICS_DIR_ENV)
    directory = (
        Path(configured) if configured else Path(tempfile.mkdtemp(prefix="edgewatch-metrics-"))
    )
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[METRICS_DIR_ENV] = str(directory)
    try:
        yield directory
    finally:
        if not configured:
            shutil.rmtree(directory, ignore_errors=True)


def server_config(app: FastAPI | str, settings: Settings) -> uvicorn.Config:
    tls: dict[str, str] = {}
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        tls = {
            "ssl_certfile": str(settings.tls_cert_file),
            "ssl_keyfile": str(settings.tls_key_file),
        }
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=settings.api_workers if isinstance(app, str) else 1,
        host=settings.host,
        port=settings.port,
        log_config=None,
        # RequestContextMiddleware writes the one access line per request; uvicorn's would be a
        # second, formatted for every request even when its level is filtered out.
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **tls,  # type: ignore[arg-type]
    )
