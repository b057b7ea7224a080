"""Opening the configured database for a command: reachable and migrated, or one clear error."""

from __future__ import annotations

from sqlalchemy import Engine

from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.errors import DatabaseUnavailable


def open_migrated_engine(url: str, *, pool_size: int = 2) -> Engine:
    """An engine for ``url`` after connecting once and migrating to head.

    Raises ``DatabaseUnavailable`` naming the database (password hidden) and the first line of
    the driver's reason.
    """
    engine = create_db_engine(url, pool_size=pool_size)
    try:
        with engine.connect():
            pass
        migrate.upgrade(url)
    except Exception as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot use the database at {engine.url.render_as_string()}: {reason}"
        ) from exc
    return engine
