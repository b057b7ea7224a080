"""The one HTTP client factory for outbound calls: venue connectors, alert channels, smoke tests.

Every outbound client gets its ``httpx.Client`` from ``create_http_client``, so every call has a
timeout (connect, read, write and pool), the same headers and no silent redirects. It lives with the
venues because they were its first users. Tests point ``base_url`` at a local server.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

DEFAULT_TIMEOUT_SECONDS = 10.0
#: Connecting should be quick; a venue that cannot accept a connection in this time is down.
MAX_CONNECT_TIMEOUT_SECONDS = 5.0
USER_AGENT = "edgewatch/0.1"


def create_http_client(
    *,
    base_url: str,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    transport: httpx.BaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.Client:
    """A client for one remote API. ``timeout`` (seconds, > 0) bounds every phase of every call.

    The caller owns the client and must close it (``with`` or ``.close()``).
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, MAX_CONNECT_TIMEOUT_SECONDS)),
        transport=transport,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        auth=auth,
        follow_redirects=False,
    )
