"""``python -m edgewatch.db.check_drift ADMIN_URL``: ``alembic check`` on both backends.

Builds a scratch PostgreSQL database (on the server ``ADMIN_URL`` points at) and a scratch SQLite
file, migrates each to head and fails if the models differ from what the migrations built.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from edgewatch.db import migrate


def main(admin_url: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        sqlite_url = f"sqlite:///{Path(scratch) / 'check.sqlite3'}"
        migrate.upgrade(sqlite_url)
        migrate.check(sqlite_url)
    name = f"edgewatch_drift_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        # sql-reviewed: a name generated above; database names cannot be bound parameters.
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        migrate.check(url)
    finally:
        with admin.connect() as connection:
            # sql-reviewed: the name generated above.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print("alembic check: no drift on SQLite or PostgreSQL")


if __name__ == "__main__":
    main(sys.argv[1])
