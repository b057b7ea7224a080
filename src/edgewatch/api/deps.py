"""Request dependencies: the one way a route gets a database session or the settings.

The request owns the transaction: ``SessionDep`` opens a session, commits when the route returns
and rolls back if it raises. The session ends before the response is sent, so a failed commit
becomes an error response instead of a silent loss.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from anyio import CancelScope, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.config import Settings
from edgewatch.db.session import end_transaction, read_scope


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A transaction on the primary, ended (committed, or rolled back) in one worker thread.

    ``async`` on purpose: making a session touches no database, so it is made on the event loop,
    and only its end, which does, costs a hand-off to a worker thread. Shielded, so a cancelled
    request still gives its connection back.
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    except BaseException as exc:
        with CancelScope(shield=True):
            await to_thread.run_sync(end_transaction, session, exc)
        raise
    with CancelScope(shield=True):
        await to_thread.run_sync(end_transaction, session, None)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """An autocommit session on the read replica (``EDGEWATCH_DATABASE_READ_URL``) or the primary.

    Only for routes that never write (``db/replica.py``). ``async`` on purpose: the session is
    made and ended on the event loop, because neither step touches the database in autocommit
    (connections are checked out, and pinged, by the route's first query in its worker thread),
    and each hand-off to a worker thread costs more than the work.
    """
    factory: sessionmaker[Session] = request.app.state.read_session_factory
    with read_scope(factory) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
