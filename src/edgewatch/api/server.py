"""How ``edgewatch serve`` runs the app: one uvicorn configuration, with or without TLS.

Kept apart from the CLI so tests can run exactly the server production runs. Two choices matter:
- uvicorn's own proxy-header handling is off. Which peers may set ``X-Forwarded-For`` is
  Edgewatch's decision (``EDGEWATCH_TRUSTED_PROXIES``, read by the rate limiter), and uvicorn's
  default would silently trust any local process.
- With a certificate and key configured the server speaks HTTPS itself; requests then carry the
  ``https`` scheme, which turns on HSTS and ``Secure`` cookies.
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from edgewatch.config import Settings

GRACEFUL_SHUTDOWN_SECONDS = 10


def base_url(settings: Settings) -> str:
    scheme = "https" if settings.tls_cert_file is not None else "http"
    return f"{scheme}://{settings.host}:{settings.port}"


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    tls: dict[str, str] = {}
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        tls = {
            "ssl_certfile": str(settings.tls_cert_file),
            "ssl_keyfile": str(settings.tls_key_file),
        }
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **tls,  # type: ignore[arg-type]
    )
