"""``edgewatch archive list|verify|restore``: what the archive holds, and bringing it back.

Retention writes the archive (``edgewatch retention run``); these commands read it. Errors the
user can fix (a bad time, an unreachable store or database, a damaged file) are one
``edgewatch: ...`` line on stderr with exit status 2.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from edgewatch.archive.manifest import Manifest
from edgewatch.archive.partition import read_partition
from edgewatch.archive.progress import rich_tracker
from edgewatch.archive.service import (
    KINDS,
    SPECS,
    archive_location,
    manifests_in,
    restore_range,
    store_from_settings,
)
from edgewatch.clock import parse_timestamp
from edgewatch.command import fail
from edgewatch.config import load_settings
from edgewatch.db.connect import open_migrated_engine
from edgewatch.db.session import make_session_factory
from edgewatch.errors import EdgewatchError

app = typer.Typer(
    help="The archive of old ticks and backtest runs (written by retention).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
progress_console = Console(stderr=True)

KindOption = Annotated[
    str | None, typer.Option("--kind", help=f"Only this kind: {', '.join(KINDS)}.")
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="Start, inclusive (ISO 8601 or epoch seconds).")
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="End, exclusive (ISO 8601 or epoch seconds).")
]


def parse_window(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    """``--from``/``--to`` as UTC times; a bad or reversed pair is one error line."""
    try:
        start = None if from_ is None else parse_timestamp(from_)
        end = None if to is None else parse_timestamp(to)
    except EdgewatchError as exc:
        fail(f"--from/--to: {exc.message}")
    if start is not None and end is not None and start >= end:
        fail("--from must be before --to")
    return start, end


def _kinds(kind: str | None) -> tuple[str, ...]:
    if kind is None:
        return KINDS
    if kind not in KINDS:
        fail(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return (kind,)


def _manifests(kind: str | None, start: datetime | None, end: datetime | None) -> list[Manifest]:
    store = store_from_settings(load_settings())
    return [m for k in _kinds(kind) for m in manifests_in(store, k, start, end)]


@app.command("list")
def list_command(kind: KindOption = None, from_: FromOption = None, to: ToOption = None) -> None:
    """Every archived day: rows, size, time range and checksum."""
    start, end = parse_window(from_, to)
    try:
        manifests = _manifests(kind, start, end)
    except EdgewatchError as exc:
        fail(exc.message)
    table = Table("kind", "day", "table", "rows", "bytes", "first", "last", "sha256")
    for manifest in manifests:
        for archived in manifest.files:
            table.add_row(
                manifest.kind,
                manifest.day.isoformat(),
                archived.table,
                str(archived.rows),
                str(archived.size),
                archived.first.isoformat(timespec="seconds") if archived.first else "-",
                archived.last.isoformat(timespec="seconds") if archived.last else "-",
                archived.sha256[:12],
            )
    console.print(table)
    rows = sum(m.total_rows for m in manifests)
    size = sum(m.total_bytes for m in manifests)
    location = archive_location(load_settings())
    typer.echo(f"{len(manifests)} archived days, {rows} rows, {size} bytes in {location}")


@app.command("verify")
def verify_command(kind: KindOption = None, from_: FromOption = None, to: ToOption = None) -> None:
    """Read every archived file back and check its SHA-256, row count and content checksum."""
    start, end = parse_window(from_, to)
    try:
        store = store_from_settings(load_settings())
        manifests = _manifests(kind, start, end)
        with rich_tracker(progress_console) as tracker:
            tracker.stage("verifying archived days", total=len(manifests))
            for manifest in manifests:
                read_partition(store, manifest, SPECS[manifest.kind])
                tracker.advance()
    except EdgewatchError as exc:
        fail(exc.message)
    rows = sum(m.total_rows for m in manifests)
    typer.echo(f"verified {len(manifests)} archived days, {rows} rows: all checksums match")


@app.command("restore")
def restore_command(
    from_: Annotated[
        str, typer.Option("--from", help="Start, inclusive (ISO 8601 or epoch seconds).")
    ],
    to: Annotated[str, typer.Option("--to", help="End, exclusive (ISO 8601 or epoch seconds).")],
    kind: KindOption = None,
) -> None:
    """Bring archived ticks and backtest runs in [--from, --to) back into the database."""
    start, end = parse_window(from_, to)
    assert start is not None and end is not None
    kinds = _kinds(kind)
    try:
        settings = load_settings()
        store = store_from_settings(settings)
        engine = open_migrated_engine(settings.resolved_database_url)
    except EdgewatchError as exc:
        fail(exc.message)
    try:
        with rich_tracker(progress_console) as tracker:
            summary = restore_range(
                make_session_factory(engine),
                store,
                start=start,
                end=end,
                kinds=kinds,
                tracker=tracker,
            )
    except EdgewatchError as exc:
        fail(exc.message)
    finally:
        engine.dispose()
    typer.echo(summary.line())
