"""A short in-process memory of authenticated API keys, so a busy client skips the database.

Authenticating a key from the database costs a pool checkout, a join of key and owner, a commit
and a hop to a worker thread: about 2.5 ms, more than the rest of a cached read. A client that
sends a burst of requests with the same key (a dashboard, a bot, the load benchmark) would pay it
every time. So the principal a key resolved to is remembered for ``REMEMBER_SECONDS``, under the
key's SHA-256 (the secret itself is never kept).

Staying correct:
- Every commit in this process that changes a user or an API key (revocation, role, disabling,
  erasure; not the ``last_used_at``/``last_login_at`` bookkeeping) forgets everything at once. This
  is an ORM hook, so no code path that changes accounts can forget to call it.
- A change committed by another process (the CLI, a second API worker) takes effect there at once
  and here within ``REMEMBER_SECONDS``.
- A key's expiry is checked on every use, remembered or not.
- A lookup that raced with a change is not remembered (a generation counter).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.attributes import instance_state

from edgewatch.models import ApiKey, User

if TYPE_CHECKING:
    from edgewatch.accounts.principal import Principal

REMEMBER_SECONDS = 5.0
MAX_ENTRIES = 10_000
#: Columns written as bookkeeping on use; changing them changes nobody's access.
BOOKKEEPING = frozenset({"last_used_at", "last_login_at"})
_CHANGED = "edgewatch.accounts_changed"


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    key_expires_at: datetime | None
    remembered_until: float


class KeyCache:
    """Key digest → principal, for a few seconds; thread-safe (lookups run in worker threads)."""

    def __init__(self, seconds: float = REMEMBER_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read before authenticating from the database; pass it back to ``remember``."""
        return self._generation

    def get(self, digest: str, *, now: datetime) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        expired = entry.key_expires_at is not None and entry.key_expires_at <= now
        if expired or entry.remembered_until <= time.monotonic():
            with self._lock:
                self._entries.pop(digest, None)
            return None
        return entry.principal

    def remember(
        self,
        digest: str,
        principal: Principal,
        *,
        key_expires_at: datetime | None,
        generation: int,
    ) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = _Entry(
                principal, key_expires_at, time.monotonic() + self.seconds
            )

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


KEYS = KeyCache()


def _changes_access(instance: object) -> bool:
    if not isinstance(instance, User | ApiKey):
        return False
    state = instance_state(instance)
    return any(
        attribute.history.has_changes()
        for attribute in state.attrs
        if attribute.key not in BOOKKEEPING
    )


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session: Session, _context: Any) -> None:
    if any(isinstance(obj, User | ApiKey) for obj in session.deleted) or any(
        _changes_access(obj) for obj in session.dirty
    ):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in (User, ApiKey) for mapper in state.all_mappers
    ):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_after_change(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        KEYS.clear()


@event.listens_for(Session, "after_rollback")
def _drop_change_note(session: Session) -> None:
    session.info.pop(_CHANGED, None)
