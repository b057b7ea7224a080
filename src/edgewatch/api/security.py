"""Browser-facing protections: security headers on every response, CORS, and a body size cap.

Headers (``SecurityHeadersMiddleware``), on every response including errors:

- ``Content-Security-Policy``: only this origin's scripts, styles, images and connections, no
  plugins, no ``<base>``, forms post here only, and no framing. Each response gets a fresh nonce,
  exposed to templates as ``request.state.csp_nonce``: a ``<script nonce="…">`` or ``<style
  nonce="…">`` carrying it runs, any other inline code does not (so injected markup cannot run).
  ``/docs`` (Swagger UI) loads its bundle from jsDelivr and starts it with an inline script; it gets
  a policy of its own that allows that CDN and exactly the hash of its inline scripts.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: strict-origin-when-cross-origin``,
  ``X-Frame-Options: DENY`` (with ``frame-ancestors 'none'`` for browsers that know CSP),
  ``Cross-Origin-Opener-Policy: same-origin``.
- ``Strict-Transport-Security`` when the request came over TLS, or always with
  ``EDGEWATCH_HSTS=true`` (TLS ending at a proxy that forwards plain HTTP).
- ``Cache-Control: no-store`` on API responses that did not choose a policy (``/api/v1/me``,
  keys, sessions…): personal data must not linger in shared or browser caches. The response cache
  sets its own ``private, max-age`` on what it caches.

CORS (``install_cors``) answers only the origins in ``EDGEWATCH_CORS_ORIGINS``; with none
configured no CORS headers are sent and browsers keep the API same-origin.

``BodySizeLimitMiddleware`` refuses request bodies over ``EDGEWATCH_MAX_BODY_BYTES`` (1 MiB) with
a 413 problem document: at once when ``Content-Length`` says so, or as soon as a streamed body
passes the limit.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edgewatch.api.problems import problem_response
from edgewatch.config import Settings

DOCS_PREFIX = "/docs"
SWAGGER_CDN = "https://cdn.jsdelivr.net"
HSTS_VALUE = "max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
#: Response headers cross-origin callers may read.
EXPOSED_HEADERS = [
    "ETag",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
    "X-Request-ID",
]

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(nonce: str) -> str:
    """The policy for everything but ``/docs``: same-origin only, inline code by nonce only."""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def docs_security_policy(html: bytes) -> str:
    """The Swagger UI policy: its CDN, and the exact hashes of the page's own inline scripts."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {SWAGGER_CDN} {hashes}".rstrip(),
            # Swagger UI's React components set style attributes; the page shows no user data.
            f"style-src 'self' {SWAGGER_CDN} 'unsafe-inline'",
            "img-src 'self' data: https://fastapi.tiangolo.com",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.always_hsts = settings.hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        hsts = self.always_hsts or scope.get("scheme") == "https"
        is_docs = path == DOCS_PREFIX or path.startswith(DOCS_PREFIX + "/")
        is_api = path.startswith("/api/")

        def decorate(message: Message, policy: str) -> None:
            headers = MutableHeaders(scope=message)
            for name, value in STATIC_HEADERS.items():
                headers.setdefault(name, value)
            headers.setdefault("Content-Security-Policy", policy)
            if hsts:
                headers.setdefault("Strict-Transport-Security", HSTS_VALUE)
            if is_api:
                headers.setdefault("Cache-Control", "no-store")

        if not is_docs:

            async def send_decorated(message: Message) -> None:
                if message["type"] == "http.response.start":
                    decorate(message, content_security_policy(nonce))
                await send(message)

            await self.app(scope, receive, send_decorated)
            return

        # /docs pages are small and fixed: hold the page until its inline scripts are hashed.
        start: Message | None = None
        body = bytearray()

        async def send_docs(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                decorate(start, docs_security_policy(bytes(body)))
                await send(start)
                await send({"type": "http.response.body", "body": bytes(body)})
                return
            await send(message)

        await self.app(scope, receive, send_docs)


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"The request body is larger than the {self.max_bytes}-byte limit."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    response = problem_response(
                        scope, status=413, code="payload-too-large", detail=self._too_large()
                    )
                    await response(scope, receive, send)
                    return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPException from body reading; the problem handler
                    # answers it like any other error.
                    raise HTTPException(status_code=413, detail=self._too_large())
            return message

        await self.app(scope, counted_receive, send)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Allow the configured dashboard origins, with credentials; nothing when none is set."""
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "X-API-Key",
            "X-CSRF-Token",
            "X-Request-ID",
        ],
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )
