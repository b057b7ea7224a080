"""Shared fixtures: real databases, built by the real migrations.

Every test that asks for ``db_url`` gets a fresh, migrated, empty database. The backend is
PostgreSQL when ``EDGEWATCH_TEST_POSTGRES_URL`` names a server (``make test`` starts one and sets
it; CI always does), otherwise SQLite. Tests marked ``both_backends`` run on each backend that is
available. PostgreSQL databases are cloned from a migrated template, which takes milliseconds.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.accounts import api_keys, users
from edgewatch.accounts.scopes import scopes_of_role
from edgewatch.clock import utcnow
from edgewatch.config import Settings, get_settings
from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope

POSTGRES_ADMIN_URL = os.environ.get("EDGEWATCH_TEST_POSTGRES_URL")
BACKENDS = ["postgresql", "sqlite"] if POSTGRES_ADMIN_URL else ["sqlite"]
DEFAULT_BACKEND = BACKENDS[0]
# Tables printed by the CLI (rich) are as wide as the terminal; tests have none, and 80 columns
# would elide cells that tests read. Set before any command module creates its console.
os.environ.setdefault("COLUMNS", "200")

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_backends: run on PostgreSQL and on SQLite")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_backends") is not None
        metafunc.parametrize("backend", BACKENDS if both else [DEFAULT_BACKEND], scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = os.environ.get("EDGEWATCH_LIVE_TESTS") == "1"
    skip_live = pytest.mark.skip(reason="live venue test: set EDGEWATCH_LIVE_TESTS=1 to run")
    for item in items:
        if "live" in item.keywords and not live:
            item.add_marker(skip_live)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's EDGEWATCH_* variables or a cached Settings."""
    kept = ("EDGEWATCH_TEST_", "EDGEWATCH_LIVE_TESTS")
    for name in list(os.environ):
        if name.startswith("EDGEWATCH_") and not name.startswith(kept):
            monkeypatch.delenv(name)
    monkeypatch.setenv("EDGEWATCH_SECRETS_DIR", "/nonexistent-edgewatch-secrets")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _admin_engine() -> Engine:
    assert POSTGRES_ADMIN_URL
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)


def _postgres_url(database: str) -> str:
    assert POSTGRES_ADMIN_URL
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _template(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to clone: a database name on PostgreSQL, a file path on SQLite."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        migrate.upgrade(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"edgewatch_template_{os.getpid()}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    migrate.upgrade(_postgres_url(name))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(backend: str, _template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database for this test."""
    if backend == "sqlite":
        path = tmp_path / "edgewatch.sqlite3"
        shutil.copyfile(_template, path)
        yield f"sqlite:///{path}"
        return
    name = f"edgewatch_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"'))
    yield _postgres_url(name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
        sim_events=24,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.resolved_database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and asserting; the test commits what it needs to."""
    with session_factory() as session:
        yield session


Credentials = Callable[..., dict[str, str]]


@pytest.fixture
def credentials(session_factory: sessionmaker[Session]) -> Credentials:
    """``credentials(role)``: headers authenticating as a new user of ``role`` (default admin).

    The user gets an API key with every scope of the role; ``scopes=[...]`` narrows it.
    """

    def make(role: str = "admin", *, scopes: list[str] | None = None) -> dict[str, str]:
        now = utcnow()
        with session_scope(session_factory) as session:
            user = users.create(
                session,
                email=f"{role}-{uuid.uuid4().hex[:10]}@example.test",
                role=role,
                actor="test",
                now=now,
            )
            _, key = api_keys.create(
                session,
                user,
                name="tests",
                scopes=scopes if scopes is not None else scopes_of_role(role),
                expires_at=None,
                now=now,
            )
        return {"X-API-Key": key}

    return make


def assert_problem(response: Any, *, status: int, code: str) -> dict[str, Any]:
    """Check the RFC 9457 envelope and return the body for further assertions."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://edgewatch.dev/problems/{code}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.fixture
def problem() -> Any:
    return assert_problem
