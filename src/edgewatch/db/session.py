"""The one session pattern.

The entry point (an API request, a pipeline run, a CLI command) opens a ``session_scope`` and owns
the transaction; services receive the session, add and flush, and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.errors import DatabaseUnavailable


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction: committed when the block ends, rolled back if it raises."""
    session = factory()
    try:
        yield session
    except BaseException as exc:
        end_transaction(session, exc)
        raise
    end_transaction(session, None)


def end_transaction(session: Session, error: BaseException | None) -> None:
    """Commit, or roll back and re-raise ``error``; then close. The end of ``session_scope``.

    Apart so the API can run it in one worker thread (``api/deps.py``). A database that cannot be
    reached, at commit or in the block, is ``DatabaseUnavailable``.
    """
    try:
        if error is not None:
            raise error
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise DatabaseUnavailable(f"database error: {exc.orig}") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session in autocommit (``db/replica.py``): nothing to commit or roll back.

    Ending it sends nothing to the database, so it may end on the event loop.
    """
    session = factory()
    try:
        yield session
    except OperationalError as exc:
        raise DatabaseUnavailable(f"database error: {exc.orig}") from exc
    finally:
        session.close()
