"""Dashboard fixtures: the app with its lifespan running, and clients signed in as each role.

``client`` is an admin (an API key with every admin scope: the dashboard shows and allows what
the credential's scopes allow, whatever carries them); ``client_as(role)`` another user of the
same app; ``client_as(None)`` an anonymous browser.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator

import pytest
import structlog
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from edgewatch.api.app import create_app
from edgewatch.config import Settings

# Starlette warns that its test client prefers httpx2; the project pins httpx for now.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture(autouse=True)
def _release_log_streams() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


@pytest.fixture
def dashboard_app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(
    dashboard_app: FastAPI, credentials: Callable[..., dict[str, str]]
) -> Iterator[TestClient]:
    with TestClient(dashboard_app, headers=credentials("admin")) as client:
        yield client


@pytest.fixture
def client_as(
    client: TestClient, dashboard_app: FastAPI, credentials: Callable[..., dict[str, str]]
) -> Callable[[str | None], TestClient]:
    """Another client of the running app: a new user of ``role``, or anonymous for None."""

    def make(role: str | None) -> TestClient:
        headers = credentials(role) if role else {}
        return TestClient(dashboard_app, headers=headers, follow_redirects=False)

    return make
