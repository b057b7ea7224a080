"""Rotating the database password needs no restart: new connections read the secret file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from edgewatch.db.engine import PASSWORD_FILE_ENV, create_db_engine
from edgewatch.db.scratch import pg_bin, throwaway_postgres
from edgewatch.errors import DatabaseUnavailable

pytestmark = pytest.mark.skipif(
    shutil.which("initdb", path=str(_bin)) is None if (_bin := pg_bin()) else True,
    reason="PostgreSQL server binaries are not installed",
)


def test_a_rotated_password_is_picked_up_on_reconnect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with throwaway_postgres(superuser_password="bootstrap-pw") as cluster:
        admin = create_engine(
            cluster.admin_url.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as connection:
            connection.execute(text("CREATE ROLE edgewatch LOGIN PASSWORD 'first-pw'"))
        secret = tmp_path / "database-password"
        secret.write_text("first-pw\n")
        monkeypatch.setenv(PASSWORD_FILE_ENV, str(secret))
        engine = create_db_engine(f"postgresql://edgewatch@127.0.0.1:{cluster.port}/postgres")

        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar() == "edgewatch"

        with admin.connect() as connection:
            connection.execute(text("ALTER ROLE edgewatch PASSWORD 'second-pw'"))
        engine.dispose()  # what a lost connection or a recycled pool does
        with pytest.raises(OperationalError, match="password authentication failed"):
            engine.connect().close()

        secret.write_text("second-pw\n")  # the secret store updates the mounted file
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1

        secret.unlink()
        engine.dispose()
        with pytest.raises(DatabaseUnavailable, match=f"{PASSWORD_FILE_ENV}: cannot read"):
            engine.connect().close()
        engine.dispose()
        admin.dispose()
