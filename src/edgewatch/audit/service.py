"""Appending to and verifying the audit chain.

Each entry stores the hash of its predecessor and its own hash over (previous hash, time, actor,
action, subject, details), so editing or deleting any entry breaks every hash after it.
``verify`` walks the chain. Appends are serialised (a transaction-scoped lock on PostgreSQL; SQLite
allows one writer anyway) so two writers never chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.clock import utcnow
from edgewatch.db.locks import transaction_lock
from edgewatch.models import AuditEntry

GENESIS_HASH = "0" * 64


def _entry_hash(
    prev_hash: str,
    created_at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    details: dict[str, Any],
) -> str:
    document = json.dumps(
        [prev_hash, created_at.isoformat(), actor, action, subject_type, subject_id, details],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(document.encode()).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the chain in the caller's transaction (flushed, not committed)."""
    transaction_lock(session, "audit_log")
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev_hash = last.entry_hash if last else GENESIS_HASH
    # Round-trip through JSON so the hashed form is exactly what the database will return.
    clean = json.loads(json.dumps(details or {}, default=str))
    created_at = utcnow()
    entry = AuditEntry(
        created_at=created_at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        details=clean,
        prev_hash=prev_hash,
        entry_hash=_entry_hash(
            prev_hash, created_at, actor, action, subject_type, str(subject_id), clean
        ),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int
    first_broken_id: int | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify(session: Session, *, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Recompute every hash in order; report the first entry that does not match.

    ``progress`` is called with the number of entries checked so far, every 1000 entries.
    """
    prev_hash = GENESIS_HASH
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(count)
        expected = _entry_hash(
            prev_hash,
            entry.created_at,
            entry.actor,
            entry.action,
            entry.subject_type,
            entry.subject_id,
            entry.details,
        )
        if entry.prev_hash != prev_hash or entry.entry_hash != expected:
            return ChainReport(entries=count, first_broken_id=entry.id)
        prev_hash = entry.entry_hash
    return ChainReport(entries=count, first_broken_id=None)
