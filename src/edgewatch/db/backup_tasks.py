"""The ``backup`` pipeline: the daily ``edgewatch db backup`` to ``EDGEWATCH_BACKUP_URL``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from edgewatch.archive.store import open_store
from edgewatch.db.backup import create_backup, prune_backups
from edgewatch.jobs.runner import PipelineContext, PipelineOutcome


def backup_step(session: Session, context: PipelineContext) -> PipelineOutcome:
    """Back up the database and prune old backups; the step's session is not used.

    ``pg_dump`` reads from its own snapshot, so the backup is consistent while pipelines write.
    """
    settings = context.settings
    location = settings.backup_url or str(settings.data_dir / "backups")
    store = open_store(location, endpoint_url=settings.archive_endpoint_url)
    info = create_backup(settings.resolved_database_url, store, now=context.now)
    pruned = prune_backups(
        store,
        now=context.now,
        keep_days=settings.backup_retention_days,
        keep_min=settings.backup_keep_min,
    )
    return PipelineOutcome(
        rows_in=1,
        rows_stored=1,
        details={
            "backup": f"{store.location}/{info.key}",
            "bytes": info.size,
            "sha256": info.sha256,
            "pruned": [b.key for b in pruned],
        },
    )
