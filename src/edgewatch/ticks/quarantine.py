"""Quarantine: bad venue records are kept with their reason, never silently lost.

Counting (``edgewatch_venue_records_rejected_total``) happens where a record is rejected: in the
venue parsers, or in ingest's own validation — not here, so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from edgewatch.models import RejectedRecord as RejectedRow
from edgewatch.venues.base import RejectedRecord

MAX_PAYLOAD_CHARS = 20_000


def quarantine(
    session: Session, rejected: Sequence[RejectedRecord], *, pipeline_run_id: int | None
) -> None:
    for record in rejected:
        session.add(
            RejectedRow(
                venue=record.venue,
                kind=record.kind,
                reason=record.reason[:200],
                payload=record.payload[:MAX_PAYLOAD_CHARS],
                pipeline_run_id=pipeline_run_id,
            )
        )
    session.flush()
