"""Accounts fixtures: the app (rate limits off: these tests send many requests from one address)
with per-role clients, and a helper to sign in with a password."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from edgewatch.accounts import users
from edgewatch.api.app import create_app
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _release_log_streams() -> Iterator[None]:
    """The app's logging set-up binds the stderr of the moment; undo it after each test."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit_enabled": False})


@pytest.fixture
def app(app_settings: Settings) -> FastAPI:
    return create_app(app_settings)


@pytest.fixture
def client(app: FastAPI, credentials: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    """An admin client of the running app (its lifespan runs while the test does)."""
    with TestClient(app, headers=credentials("admin")) as client:
        yield client


@pytest.fixture
def client_as(
    client: TestClient, app: FastAPI, credentials: Callable[..., dict[str, str]]
) -> Callable[..., TestClient]:
    """``client_as("viewer")``: a client as a new user of that role; ``None``: no credentials."""

    def make(role: str | None, *, follow_redirects: bool = True, **kwargs: Any) -> TestClient:
        headers = credentials(role, **kwargs) if role else {}
        return TestClient(app, headers=headers, follow_redirects=follow_redirects)

    return make


@pytest.fixture
def make_user(session_factory: sessionmaker[Session]) -> Callable[..., str]:
    """``make_user(email, role)``: a local account with the password ``PASSWORD``."""

    def make(email: str, role: str = "viewer", display_name: str | None = None) -> str:
        with session_scope(session_factory) as session:
            users.create(
                session,
                email=email,
                role=role,
                actor="test",
                password=PASSWORD,
                display_name=display_name,
                now=utcnow(),
            )
        return email

    return make


@pytest.fixture
def browser(client: TestClient, app: FastAPI) -> Callable[[], TestClient]:
    """A fresh cookie-keeping client with no credentials, like a new browser (over https: the
    session cookie is ``Secure`` outside development)."""
    return lambda: TestClient(app, base_url="https://testserver")


def sign_in(browser: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = browser.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
