"""``edgewatch retention run``: archive, verify and delete what is past its retention now."""

from __future__ import annotations

from typing import Annotated

import typer

from edgewatch.archive.cli import progress_console
from edgewatch.archive.progress import rich_tracker
from edgewatch.archive.service import store_from_settings
from edgewatch.clock import utcnow
from edgewatch.command import fail
from edgewatch.config import load_settings
from edgewatch.db.connect import open_migrated_engine
from edgewatch.errors import EdgewatchError
from edgewatch.retention.delete import DEFAULT_BATCH_ROWS
from edgewatch.retention.service import run_retention

app = typer.Typer(
    help="Remove old ticks and backtest runs once they are archived.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command("run")
def run_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what is due; archive and delete nothing.")
    ] = False,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", min=100, help="Ticks deleted per transaction.")
    ] = DEFAULT_BATCH_ROWS,
) -> None:
    """Archive ticks older than EDGEWATCH_TICK_RETENTION_DAYS and backtest runs older than
    EDGEWATCH_BACKTEST_RETENTION_DAYS, check the archive, then delete them in small batches."""
    try:
        settings = load_settings()
        store = store_from_settings(settings)
        engine = open_migrated_engine(settings.resolved_database_url)
    except EdgewatchError as exc:
        fail(exc.message)
    try:
        with rich_tracker(progress_console) as tracker:
            summary = run_retention(
                engine,
                store,
                now=utcnow(),
                tick_retention_days=settings.tick_retention_days,
                backtest_retention_days=settings.backtest_retention_days,
                batch_rows=batch_rows,
                dry_run=dry_run,
                tracker=tracker,
            )
    except EdgewatchError as exc:
        fail(exc.message)
    finally:
        engine.dispose()
    typer.echo(summary.line())
