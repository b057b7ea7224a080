"""Pooled PostgreSQL connections are pinged before reuse only after sitting idle, and a dead one
is replaced without the caller noticing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from edgewatch.db import engine as engine_module
from edgewatch.db.engine import create_db_engine

POSTGRES_URL = os.environ.get("EDGEWATCH_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="EDGEWATCH_TEST_POSTGRES_URL is not set")


@pytest.fixture
def pool() -> Iterator[tuple[Engine, list[object]]]:
    """An engine with a one-connection pool, and the pings it sends."""
    assert POSTGRES_URL
    engine = create_db_engine(POSTGRES_URL, pool_size=1)
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    yield engine, pings
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def test_a_connection_reused_at_once_is_not_pinged(pool: tuple[Engine, list[object]]) -> None:
    engine, pings = pool

    pids = {_backend_pid(engine) for _ in range(5)}

    assert len(pids) == 1, "the pool hands out its one connection each time"
    assert pings == []


def test_an_idle_connection_killed_in_the_pool_is_replaced_unnoticed(
    pool: tuple[Engine, list[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, pings = pool
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.05)
    first = _backend_pid(engine)
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    admin.dispose()
    time.sleep(0.1)

    second = _backend_pid(engine)  # would raise "server closed the connection" without the ping

    assert second != first
    assert len(pings) == 1
