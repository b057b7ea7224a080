"""Engine creation: the only place that knows how to connect to each dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from edgewatch.config import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a pipeline writes; a busy timeout turns brief writer contention
    # into a wait instead of an error. Foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_db_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, connect_timeout: int = 10
) -> Engine:
    """Create an engine for ``url`` (``sqlite:///…`` or ``postgresql://…``).

    PostgreSQL URLs without a driver get psycopg 3. Prepared statements are disabled so that the
    engine works through PgBouncer in transaction pooling mode.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(
        parsed,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"prepare_threshold": None, "connect_timeout": connect_timeout},
    )


def engine_from_settings(settings: Settings) -> Engine:
    return create_db_engine(settings.resolved_database_url)
