"""Named locks so that a pipeline runs once at a time.

PostgreSQL: a session-level advisory lock, held on a dedicated connection, so the lock spans every
process sharing the database. SQLite (embedded, one process): a process-local lock per name.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from edgewatch.errors import PipelineBusy

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _lock_key(name: str) -> int:
    # Advisory locks take a signed 64-bit key; a CRC keeps it stable across processes.
    return zlib.crc32(f"edgewatch:{name}".encode())


def spans_processes(engine: Engine) -> bool:
    """True when ``exclusive`` excludes other processes too (PostgreSQL), not only threads.

    Then a ``running`` pipeline row whose lock is free belongs to a process that died.
    """
    return engine.dialect.name == "postgresql"


def _release(connection: Connection, key: int) -> None:
    """Unlock; a connection lost meanwhile (server restart) took its session's locks with it."""
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        connection.commit()
    except OperationalError:
        connection.invalidate()


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the block, or raise ``PipelineBusy`` at once."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            key = _lock_key(name)
            acquired = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            if not acquired.scalar_one():
                raise PipelineBusy(f"{name} is already running")
            connection.commit()
            try:
                yield
            finally:
                _release(connection, key)
        return
    with _local_guard:
        lock = _local_locks.setdefault(f"{engine.url}:{name}", threading.Lock())
    if not lock.acquire(blocking=False):
        raise PipelineBusy(f"{name} is already running")
    try:
        yield
    finally:
        lock.release()


def transaction_lock(session: Session, name: str) -> None:
    """Serialise writers of ``name`` until the session's transaction ends.

    On PostgreSQL a transaction-scoped advisory lock; SQLite already allows one writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(name)})
