"""Schemathesis against the live API on PostgreSQL, as an admin API key: generated requests for
every operation in the OpenAPI document must get no server error, only documented status codes and
content types, and bodies that match the documented schemas; invalid input must be refused.

The API runs as a real uvicorn process on a database seeded by the real pipelines (simulator
ingest, market matching, signals), so reads return real rows. A few operations are left out
because they end the fuzzing session itself (erasing the account, revoking keys, signing out) or
redirect to an SSO provider that is not configured here. Rate limits are raised so the fuzzer
measures the routes, not the limiter (tests/api covers that).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import schemathesis
from api_process import api_processes
from edgewatch.accounts import api_keys, users
from edgewatch.accounts.scopes import scopes_of_role
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.runner import run_pipeline

POSTGRES_ADMIN_URL = os.environ.get("EDGEWATCH_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="needs PostgreSQL")
#: Examples per operation and mode: ~50 operations stay within a few minutes on two cores.
MAX_EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
#: Operations that would end the session under test, or leave for an unconfigured SSO provider.
EXCLUDED = [
    ("DELETE", r"^/api/v1/me$"),
    ("DELETE", r"^/api/v1/me/keys/"),
    ("DELETE", r"^/api/v1/me/sessions/"),
    ("POST", r"^/auth/logout$"),
    ("GET", r"^/auth/sso/"),
]


def _admin_engine() -> Any:
    assert POSTGRES_ADMIN_URL
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="module")
def fuzz_database(_template: str, backend: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this module's own (the per-test ``db_url`` is too short-
    lived for a server that outlives one test)."""
    if backend != "postgresql":
        pytest.skip("schemathesis runs against PostgreSQL")
    assert POSTGRES_ADMIN_URL
    name = f"edgewatch_fuzz_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"'))
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed(settings: Settings) -> str:
    """Real data through the real pipelines, and an admin's API key; returns the key."""
    engine = create_db_engine(settings.resolved_database_url, pool_size=2)
    try:
        pipelines = available_pipelines(settings)
        for name in ("ingest-sim", "ingest-sim", "match-markets", "generate-signals"):
            spec = pipelines[name]
            run = run_pipeline(spec.name, spec.step, settings=settings, engine=engine)
            assert run.status == "succeeded", run.error
        with session_scope(make_session_factory(engine)) as session:
            user = users.create(
                session,
                email="fuzz-admin@example.test",
                role="admin",
                actor="test",
                now=utcnow(),
            )
            _, key = api_keys.create(
                session,
                user,
                name="schemathesis",
                scopes=scopes_of_role("admin"),
                expires_at=None,
                now=utcnow(),
            )
        return key
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_api(fuzz_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The seeded API running in its own process; yields (base URL, admin API key)."""
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    env = {
        "EDGEWATCH_ENVIRONMENT": "test",
        "EDGEWATCH_SECRET_KEY": "test-secret-key-not-a-placeholder",
        "EDGEWATCH_DATABASE_URL": fuzz_database,
        "EDGEWATCH_DATA_DIR": str(data_dir),
        "EDGEWATCH_SIM_EVENTS": "12",
        "EDGEWATCH_RATE_LIMIT_PER_MINUTE": "1000000",
        "EDGEWATCH_RATE_LIMIT_LOGIN_PER_MINUTE": "1000000",
        "EDGEWATCH_RATE_LIMIT_EXPENSIVE_PER_MINUTE": "1000000",
    }
    key = _seed(
        Settings(
            environment="test",
            database_url=fuzz_database,
            data_dir=data_dir,
            secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
            sim_events=12,
        )
    )
    with api_processes(env, count=1, log_dir=Path(data_dir)) as (url,):
        # The first readiness check and page render import what they use (tens of seconds on a
        # busy machine); warm them so the fuzzer's timeouts measure the routes.
        for path in ("/health/ready", "/", "/openapi.json"):
            httpx.get(f"{url}{path}", headers={"X-API-Key": key}, timeout=180)
        yield url, key


@pytest.fixture(scope="module")
def api_schema(live_api: Any) -> Any:
    url, key = live_api
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    schema.config.headers = {"X-API-Key": key}
    for method, path in EXCLUDED:
        schema = schema.exclude(method=method, path_regex=path)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_answers_every_generated_request_as_documented(case: Any, live_api: Any) -> None:
    _, key = live_api
    case.call_and_validate(headers={"X-API-Key": key}, checks=CHECKS, timeout=60)
