"""The audit log is a hash chain: any edit or deletion is detected by ``verify``."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.audit import service as audit
from edgewatch.db.session import session_scope
from edgewatch.models import AuditEntry

pytestmark = pytest.mark.both_backends


def write_entries(factory: sessionmaker[Session], n: int) -> None:
    for i in range(n):
        with session_scope(factory) as session:
            audit.append(
                session,
                actor="user:1",
                action="thing.done",
                subject_type="thing",
                subject_id=i,
                details={"i": i, "price": 0.5, "note": "ünïcode"},
            )


def test_an_untouched_chain_verifies(session_factory: sessionmaker[Session]) -> None:
    write_entries(session_factory, 5)
    with session_factory() as session:
        report = audit.verify(session)
    assert report.ok and report.entries == 5


def test_an_edited_entry_breaks_the_chain(session_factory: sessionmaker[Session]) -> None:
    write_entries(session_factory, 5)
    with session_scope(session_factory) as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 3).values(actor="user:evil"))
    with session_factory() as session:
        assert audit.verify(session).first_broken_id == 3


def test_a_deleted_entry_breaks_the_chain(session_factory: sessionmaker[Session]) -> None:
    write_entries(session_factory, 5)
    with session_scope(session_factory) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.id == 2))
    with session_factory() as session:
        assert audit.verify(session).first_broken_id == 3
