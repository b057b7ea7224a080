"""Dashboard fixtures: the app with its lifespan running (see tests/api/conftest.py)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator

import pytest
import structlog
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
def client(settings: Settings, credentials: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=credentials("admin")) as client:
        yield client
