"""Read-replica routing against a real streaming replica made with pg_basebackup.

The test starts its own primary (never reconfiguring the shared test server), clones it with
``pg_basebackup -R`` and starts the clone as a hot standby. The API's read routes must read the
replica: with replay paused there, a market written to the primary stays invisible to them, and
appears once replay resumes. Writes (and everything not marked read-only) go to the primary.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from edgewatch.api.app import create_app
from edgewatch.config import Settings
from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.scratch import (
    ScratchCluster,
    free_port,
    pg_bin,
    start_cluster,
    stop_cluster,
    throwaway_postgres,
)
from edgewatch.models import Market

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.skipif(
    not list(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup")),
    reason="PostgreSQL server binaries not installed (scripts/test-services.sh installs them)",
)


@pytest.fixture(scope="module")
def primary_and_replica() -> Iterator[tuple[str, str, str, ScratchCluster]]:
    """``(primary URL, replica URL, replica admin URL, primary cluster)``, database migrated."""
    with throwaway_postgres() as primary:
        admin = create_engine(
            primary.admin_url.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE edgewatch"))
        admin.dispose()
        primary_url = f"postgresql://postgres@127.0.0.1:{primary.port}/edgewatch"
        migrate.upgrade(primary_url)
        replica_dir = _base_backup(primary)
        port = free_port()
        start_cluster(replica_dir, port, primary.root / "replica.log", {"hot_standby": "on"})
        try:
            yield (
                primary_url,
                f"postgresql://postgres@127.0.0.1:{port}/edgewatch",
                f"postgresql://postgres@127.0.0.1:{port}/postgres",
                primary,
            )
        finally:
            stop_cluster(replica_dir)


def _base_backup(primary: ScratchCluster) -> Path:
    target = primary.root / "replica"
    primary.run(
        "pg_basebackup",
        f"--pgdata={target}",
        "--host=127.0.0.1",
        f"--port={primary.port}",
        "--username=postgres",
        "--wal-method=stream",
        "--write-recovery-conf",
        "--checkpoint=fast",
    )
    assert (pg_bin() / "pg_basebackup").is_file()
    return target


def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the replica did not catch up in time")
        time.sleep(0.1)


def test_read_routes_read_the_replica_and_writes_go_to_the_primary(
    primary_and_replica: tuple[str, str, str, ScratchCluster], tmp_path: Path
) -> None:
    primary_url, replica_url, replica_admin_url, _ = primary_and_replica
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=primary_url,
        database_read_url=replica_url,
        secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
        public_read=True,
        cache_enabled=False,
    )
    primary = create_db_engine(primary_url)
    replica_admin = create_db_engine(replica_admin_url)

    def titles(client: TestClient) -> set[str]:
        response = client.get("/api/v1/markets", params={"limit": 500})
        assert response.status_code == 200, response.text
        return {item["title"] for item in response.json()["items"]}

    def add_market(title: str) -> None:
        with Session(primary) as session, session.begin():
            session.add(Market(venue="sim", venue_market_id=title, title=title))

    try:
        with TestClient(create_app(settings)) as client:
            state = client.app.state
            with state.read_session_factory() as session:
                assert session.scalar(text("SELECT pg_is_in_recovery()")) is True
                assert session.scalar(text("SHOW transaction_read_only")) == "on"
            with state.session_factory() as session:
                assert session.scalar(text("SELECT pg_is_in_recovery()")) is False

            add_market("first")
            _eventually(lambda: "first" in titles(client))

            with replica_admin.connect() as connection:
                connection.execute(text("SELECT pg_wal_replay_pause()"))
                connection.commit()
            try:
                add_market("second")
                with Session(primary) as session:
                    stored = set(session.scalars(select(Market.title)))
                assert stored == {"first", "second"}
                time.sleep(0.5)
                assert titles(client) == {"first"}, "a read route went to the primary"
                with state.session_factory() as session:
                    assert set(session.scalars(select(Market.title))) == {"first", "second"}
            finally:
                with replica_admin.connect() as connection:
                    connection.execute(text("SELECT pg_wal_replay_resume()"))
                    connection.commit()
            _eventually(lambda: titles(client) == {"first", "second"})
            one = next(m for m in client.get("/api/v1/markets").json()["items"])
            assert client.get(f"/api/v1/markets/{one['id']}").status_code == 200
            assert client.get(f"/api/v1/markets/{one['id']}/ticks").status_code == 200
            assert client.get("/api/v1/signals").status_code == 200
    finally:
        primary.dispose()
        replica_admin.dispose()


def test_without_a_read_url_reads_use_the_primary(db_url: str, tmp_path: Path) -> None:
    from edgewatch.db.replica import create_read_engine, read_session_factory
    from edgewatch.db.session import make_session_factory

    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=db_url,
        secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
    )
    engine = create_db_engine(db_url)
    assert create_read_engine(settings) is None
    reads = read_session_factory(None, engine)
    with reads() as session:
        session.execute(text("SELECT 1"))
        connection = session.connection()
        assert connection.engine.url == engine.url
        assert connection.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
    with make_session_factory(engine)() as session:
        assert "isolation_level" not in session.connection().get_execution_options()
    engine.dispose()


def test_the_production_postgresql_conf_is_accepted(
    primary_and_replica: tuple[str, str, str, ScratchCluster],
) -> None:
    """deploy/postgres/postgresql.conf parses, and sets what replicas and PITR depend on."""
    source = Path(__file__).parents[2] / "deploy" / "postgres" / "postgresql.conf"
    cluster = primary_and_replica[3]
    config = cluster.root / "production.conf"
    config.write_text(source.read_text())

    def value(name: str) -> str:
        result = cluster.run(
            "postgres", "-D", str(cluster.data_dir), f"--config-file={config}", "-C", name
        )
        return result.stdout.strip()

    assert value("wal_level") == "replica"
    assert value("archive_mode") == "on"
    assert value("hot_standby") == "on"
    assert value("max_wal_senders") == "10"
    assert value("autovacuum_vacuum_insert_threshold") == "100000"
