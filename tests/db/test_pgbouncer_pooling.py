"""Edgewatch through a real PgBouncer in transaction pooling mode.

In transaction pooling a client's consecutive transactions may run on different server
connections, so server-side prepared statements break: psycopg prepares a statement on one
server connection and later finds it missing (or another client's of the same name present).
``db/engine.py`` turns preparation off (``prepare_threshold=None``). The control case below
shows the failure with preparation on, against the same bouncer, so the test can fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from edgewatch.api.app import create_app
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.engine import create_db_engine
from edgewatch.db.scratch import as_postgres, free_port
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.jobs.runner import PipelineContext
from edgewatch.models import Market, OddsTick, PipelineRun
from edgewatch.ticks.ingest import ingest_pipeline
from edgewatch.venues.registry import create_venue

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
pytestmark = pytest.mark.skipif(
    not Path(PGBOUNCER).is_file(),
    reason="pgbouncer not installed (scripts/test-services.sh installs the Debian package)",
)


@pytest.fixture
def bouncer_url(db_url: str) -> Iterator[str]:
    """``db_url`` through a PgBouncer (transaction pooling, one server connection per database)."""
    backend = make_url(db_url)
    if backend.get_backend_name() != "postgresql":
        pytest.skip("PgBouncer fronts PostgreSQL only")
    root = Path(tempfile.mkdtemp(prefix="edgewatch-pgbouncer-"))
    port = free_port()
    (root / "userlist.txt").write_text('"postgres" ""\n')
    (root / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={backend.host} port={backend.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {root}/userlist.txt
pool_mode = transaction
; One server connection: every client's transactions share it, the harshest case.
default_pool_size = 1
max_client_conn = 100
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = {root}/pgbouncer.log
"""
    )
    if os.geteuid() == 0:
        for path in (root, *root.iterdir()):
            shutil.chown(path, "postgres")
    process = subprocess.Popen(
        [*as_postgres(), PGBOUNCER, str(root / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(port, process, root / "pgbouncer.log")
        yield backend.set(port=port).render_as_string(hide_password=False)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"pgbouncer exited: {log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("pgbouncer did not start listening")


def test_prepared_statements_break_under_transaction_pooling(bouncer_url: str) -> None:
    """The control: psycopg preparing every statement collides through the bouncer."""
    conninfo = make_url(bouncer_url).set(drivername="postgresql").render_as_string(False)
    first = psycopg.connect(conninfo, autocommit=True, prepare_threshold=0)
    second = psycopg.connect(conninfo, autocommit=True, prepare_threshold=0)
    try:
        first.execute("SELECT 1 + %s", (1,))
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            second.execute("SELECT 1 + %s", (1,))
    finally:
        first.close()
        second.close()


def test_edgewatch_engines_never_prepare(bouncer_url: str) -> None:
    engine = create_db_engine(bouncer_url)
    try:
        with engine.connect() as first, engine.connect() as second:
            assert first.connection.driver_connection.prepare_threshold is None  # type: ignore[union-attr]
            for n in range(12):
                for connection in (first, second):
                    value = connection.execute(text("SELECT 1 + :n"), {"n": n}).scalar_one()
                    assert value == n + 1
                    connection.commit()
    finally:
        engine.dispose()


def test_ingest_and_api_reads_through_pgbouncer(bouncer_url: str, tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=bouncer_url,
        database_read_url=bouncer_url,
        secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
        sim_events=6,
        public_read=True,
        cache_enabled=False,
    )
    engine = create_db_engine(bouncer_url)
    factory = make_session_factory(engine)
    step = ingest_pipeline(create_venue("sim", settings))
    start = utcnow()
    cursor = None
    for cycle in range(8):
        with session_scope(factory) as session:
            run = PipelineRun(pipeline="ingest-sim", status="running", started_at=utcnow())
            session.add(run)
            session.flush()
            outcome = step(
                session,
                PipelineContext(
                    settings=settings,
                    run_id=run.id,
                    previous_cursor=cursor,
                    now=start + timedelta(seconds=30 * cycle),
                ),
            )
        cursor = outcome.cursor or cursor
    with session_scope(factory) as session:
        markets = session.scalar(select(func.count()).select_from(Market))
        stored = session.scalar(select(func.count()).select_from(OddsTick))
        market_id = session.scalars(select(Market.id).limit(1)).one()
    engine.dispose()
    assert markets and stored

    with TestClient(create_app(settings)) as client:
        for _ in range(8):
            listing = client.get("/api/v1/markets", params={"limit": 500})
            assert listing.status_code == 200, listing.text
            assert len(listing.json()["items"]) == markets
            ticks = client.get(f"/api/v1/markets/{market_id}/ticks", params={"limit": 5000})
            assert ticks.status_code == 200, ticks.text
            assert client.get(f"/api/v1/markets/{market_id}").status_code == 200
            assert client.get("/api/v1/signals").status_code == 200
