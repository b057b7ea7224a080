"""Fixtures for the venue tests: a scripted local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from venue_server import ScriptedServer


@pytest.fixture
def venue_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    server.thread.join(timeout=5)
