"""``edgewatch db backup|restore|backups``: make, restore and list database backups."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from edgewatch.archive.cli import progress_console
from edgewatch.archive.progress import rich_tracker
from edgewatch.archive.store import open_store
from edgewatch.clock import utcnow
from edgewatch.command import fail
from edgewatch.config import Settings, load_settings
from edgewatch.db.backup import (
    create_backup,
    list_backups,
    prune_backups,
    resolve_source,
    restore_backup,
)
from edgewatch.errors import EdgewatchError

console = Console()


def backup_location(settings: Settings) -> str:
    return settings.backup_url or str(settings.data_dir / "backups")


def backup_command(
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="A directory or s3://bucket/prefix (default: EDGEWATCH_BACKUP_URL)."
        ),
    ] = None,
) -> None:
    """Back up the database (pg_dump custom format, or SQLite's online backup) with a checksum,
    then delete backups past EDGEWATCH_BACKUP_RETENTION_DAYS (keeping EDGEWATCH_BACKUP_KEEP_MIN)."""
    try:
        settings = load_settings()
        store = open_store(
            to or backup_location(settings), endpoint_url=settings.archive_endpoint_url
        )
        now = utcnow()
        with rich_tracker(progress_console) as tracker:
            info = create_backup(settings.resolved_database_url, store, now=now, tracker=tracker)
        pruned = prune_backups(
            store,
            now=now,
            keep_days=settings.backup_retention_days,
            keep_min=settings.backup_keep_min,
        )
    except EdgewatchError as exc:
        fail(exc.message)
    typer.echo(f"{info.line()}; {len(pruned)} old backups deleted")


def restore_command(
    source: Annotated[
        str,
        typer.Argument(help="A backup file, an s3://bucket/prefix/file URL, or `latest`."),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds tables.")
    ] = False,
) -> None:
    """Restore a backup made by `edgewatch db backup` into the configured database, after
    checking its SHA-256."""
    try:
        settings = load_settings()
        store, key = resolve_source(
            source,
            default_location=backup_location(settings),
            endpoint_url=settings.archive_endpoint_url,
        )
        with rich_tracker(progress_console) as tracker:
            result = restore_backup(
                store, key, settings.resolved_database_url, force=force, tracker=tracker
            )
    except EdgewatchError as exc:
        fail(exc.message)
    typer.echo(result.line())


def backups_command(
    location: Annotated[
        str | None,
        typer.Option(
            "--in", help="A directory or s3://bucket/prefix (default: EDGEWATCH_BACKUP_URL)."
        ),
    ] = None,
) -> None:
    """List backups, oldest first."""
    try:
        settings = load_settings()
        store = open_store(
            location or backup_location(settings), endpoint_url=settings.archive_endpoint_url
        )
        backups = list_backups(store)
    except EdgewatchError as exc:
        fail(exc.message)
    table = Table("file", "created", "bytes", "sha256", "schema")
    for info in backups:
        table.add_row(
            info.key,
            info.created_at.isoformat(timespec="seconds"),
            str(info.size),
            info.sha256[:16],
            info.revision or "-",
        )
    console.print(table)
    typer.echo(f"{len(backups)} backups in {store.location}")
