"""Read-replica routing: read-only work may go to a replica, everything else to the primary.

With ``EDGEWATCH_DATABASE_READ_URL`` set, the API's read-only routes and the dashboard take their
sessions from ``read_session_factory`` (``ReadSessionDep`` in ``api/deps.py``); writes,
pipelines, migrations and locks always use the primary. Unset, reads use the primary too.

Read sessions run in read-only transactions (``BEGIN READ ONLY`` on PostgreSQL), so a read route
can never write by accident even if the read URL points at the primary. A streaming replica
lags the primary by its replay delay (usually well under a second): a page read right after a
write may not show it yet, which is why anything that reads its own writes uses the primary.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.config import Settings
from edgewatch.db.engine import create_db_engine


def create_read_engine(settings: Settings) -> Engine | None:
    """An engine for the read replica, or None when no read URL is configured."""
    if not settings.database_read_url:
        return None
    return create_db_engine(settings.database_read_url)


def read_session_factory(
    read_engine: Engine | None, primary: sessionmaker[Session]
) -> sessionmaker[Session]:
    """Sessions for read-only work: on the replica if there is one, else the primary's."""
    if read_engine is None:
        return primary
    bind = read_engine
    if read_engine.dialect.name == "postgresql":
        bind = read_engine.execution_options(postgresql_readonly=True)
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
