"""``edgewatch import`` and ``edgewatch export``: move tick history in and out as files.

Both run against the configured database (migrated first, as ``serve`` does). Errors the user can
fix (a missing ``markets.csv``, an unreadable file, an unreachable database) are one
``edgewatch: ...`` line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Engine

from edgewatch import data_versions
from edgewatch.clock import parse_timestamp
from edgewatch.command import fail
from edgewatch.config import load_settings
from edgewatch.db.connect import open_migrated_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import EdgewatchError
from edgewatch.ticks.dataset import DEFAULT_BATCH_ROWS, open_dataset
from edgewatch.ticks.exporter import export_dataset
from edgewatch.ticks.importer import import_dataset

app = typer.Typer(
    help="Import and export tick history.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
progress_console = Console(stderr=True)


def _engine() -> Engine:
    """The configured database, migrated; a bad one is one clear line."""
    return open_migrated_engine(load_settings().resolved_database_url, pool_size=1)


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except EdgewatchError as exc:
        fail(f"{option}: {exc.message}")


@app.command("import")
def import_command(
    directory: Annotated[
        Path, typer.Argument(help="Dataset directory: markets.csv, ticks.csv|parquet, links.csv.")
    ],
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", min=1, help="Tick rows read and committed at a time.")
    ] = DEFAULT_BATCH_ROWS,
) -> None:
    """Load a dataset directory (format: docs/data-format.md); safe to repeat or resume."""
    try:
        dataset = open_dataset(directory)
        engine = _engine()
    except EdgewatchError as exc:
        fail(exc.message)
    columns = [
        TextColumn("[bold]importing ticks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    try:
        with Progress(*columns, console=progress_console, transient=True) as progress:
            task = progress.add_task("ticks", total=dataset.tick_rows)
            summary = import_dataset(
                make_session_factory(engine),
                dataset,
                batch_rows=batch_rows,
                on_batch=lambda rows: progress.advance(task, rows),
            )
    except EdgewatchError as exc:
        fail(exc.message)
    finally:
        engine.dispose()
    # Committed: cached API answers over markets and ticks must not outlive the old data.
    data_versions.bump(load_settings(), ("markets", "ticks"))
    typer.echo(summary.line())


@app.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="New (or empty) directory to write.")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="First tick time, inclusive (ISO 8601 or epoch seconds)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="End of the tick range, exclusive (ISO 8601 or epoch seconds)."),
    ] = None,
    venue: Annotated[
        str | None, typer.Option("--venue", help="Only this venue's markets and ticks.")
    ] = None,
    parquet: Annotated[
        bool, typer.Option("--parquet", help="Write ticks.parquet (zstd) instead of ticks.csv.")
    ] = False,
) -> None:
    """Write markets, ticks and links as a dataset directory that `edgewatch import` reads."""
    since, until = _time(from_, "--from"), _time(to, "--to")
    if since is not None and until is not None and since >= until:
        fail("--from must be before --to")
    try:
        engine = _engine()
    except EdgewatchError as exc:
        fail(exc.message)
    try:
        with (
            progress_console.status(f"exporting to {directory}…"),
            session_scope(make_session_factory(engine)) as session,
        ):
            summary = export_dataset(
                session, directory, since=since, until=until, venue=venue, parquet=parquet
            )
    except EdgewatchError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot write {directory}: {exc.strerror or exc}")
    finally:
        engine.dispose()
    typer.echo(summary.line())


if __name__ == "__main__":
    app()
