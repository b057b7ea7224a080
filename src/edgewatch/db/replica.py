"""Read-replica routing: read-only work may go to a replica, everything else to the primary.

With ``EDGEWATCH_DATABASE_READ_URL`` set, the API's read-only routes and the dashboard take their
sessions from ``read_session_factory`` (``ReadSessionDep`` in ``api/deps.py``); writes,
pipelines, migrations and locks always use the primary. Unset, reads use the primary too.

Read sessions run in autocommit: each statement is its own snapshot, and a read costs no
``BEGIN`` and no ``COMMIT`` round trip. Ending such a session sends nothing to the database, which
lets the API end it on the event loop instead of handing it to a worker thread (``api/deps.py``);
on this project's machines those two round trips and two thread hand-offs were a fifth of an
uncached read. A route that needs several statements to agree (a report, an export) uses a
``SessionDep`` transaction instead.

A replica refuses writes by itself (a hot standby is read-only); point the read URL only at a
replica, or at a role with ``default_transaction_read_only = on``. A streaming replica lags the
primary by its replay delay (usually well under a second): a page read right after a write may
not show it yet, which is why anything that reads its own writes uses the primary.
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


def read_session_factory(read_engine: Engine | None, primary: Engine) -> sessionmaker[Session]:
    """Autocommit sessions for read-only work: on the replica if there is one, else the primary.

    They share their engine's pool; the isolation level is set on checkout and reset on return.
    """
    bind = (read_engine or primary).execution_options(isolation_level="AUTOCOMMIT")
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
