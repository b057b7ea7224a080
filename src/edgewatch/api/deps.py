"""Request dependencies: the one way a route gets a database session or the settings.

The request owns the transaction: ``SessionDep`` opens a session, commits when the route returns
and rolls back if it raises. The session ends before the response is sent, so a failed commit
becomes an error response instead of a silent loss.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.config import Settings
from edgewatch.db.session import session_scope


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with session_scope(factory) as session:
        yield session


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
    with session_scope(factory) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
