"""``edgewatch quality run|report``: check stored data now, and see what the checks found."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, get_args

import typer
from rich.console import Console
from rich.table import Table

from edgewatch.archive.cli import parse_window, progress_console
from edgewatch.archive.progress import rich_tracker
from edgewatch.clock import utcnow
from edgewatch.command import fail
from edgewatch.config import load_settings
from edgewatch.db.connect import open_migrated_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import EdgewatchError
from edgewatch.quality import repository
from edgewatch.quality.schemas import FindingKind
from edgewatch.quality.service import run_checks, thresholds_from

KINDS = get_args(FindingKind)

app = typer.Typer(
    help="Data-quality checks: gaps, stale quotes, bad prices, jumps, duplicate timestamps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command("run")
def run_command(
    from_: Annotated[
        str | None, typer.Option("--from", help="Start (ISO 8601 or epoch); default 24 h ago.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="End (exclusive); default now.")] = None,
) -> None:
    """Check the ticks of a window (and the ticks quarantined in it) and store the findings."""
    now = utcnow()
    first, last = parse_window(from_, to)
    end = last or now
    start = first or end - timedelta(hours=24)
    if start >= end:
        fail("--from must be before --to")
    try:
        settings = load_settings()
        engine = open_migrated_engine(settings.resolved_database_url)
    except EdgewatchError as exc:
        fail(exc.message)
    try:
        with (
            rich_tracker(progress_console) as tracker,
            session_scope(make_session_factory(engine)) as session,
        ):
            tracker.stage("checking ticks")
            seen = 0

            def progress(done: int, total: int) -> None:
                nonlocal seen
                if seen == 0:
                    tracker.stage("checking ticks", total=total)
                tracker.advance(done - seen)
                seen = done

            result = run_checks(
                session,
                start=start,
                end=end,
                thresholds=thresholds_from(settings),
                now=now,
                on_progress=progress,
            )
    except EdgewatchError as exc:
        fail(exc.message)
    finally:
        engine.dispose()
    typer.echo(f"{start.isoformat()} to {end.isoformat()}: {result.line()}")


@app.command("report")
def report_command(
    venue: Annotated[str | None, typer.Option("--venue", help="Only this venue.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help=f"One of: {', '.join(KINDS)}.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Episodes ending at or after (default 24 h ago).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Rows shown.")] = 50,
) -> None:
    """Show stored findings, newest first, and how many there are per venue and kind."""
    if kind is not None and kind not in KINDS:
        fail(f"--kind: unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    after = parse_window(since, None)[0] or utcnow() - timedelta(hours=24)
    try:
        engine = open_migrated_engine(load_settings().resolved_database_url)
    except EdgewatchError as exc:
        fail(exc.message)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = repository.list_findings(
                session, limit=limit, venue=venue, kind=kind, since=after
            )
            counts = repository.count_findings(session, venue=venue, since=after)
    finally:
        engine.dispose()
    console = Console()
    table = Table("id", "venue", "market", "kind", "from", "to", "detail")
    for row in rows:
        table.add_row(
            str(row.id),
            row.venue,
            str(row.market_id),
            row.kind,
            row.start_ts.isoformat(timespec="seconds"),
            row.end_ts.isoformat(timespec="seconds"),
            row.detail,
        )
    if rows:
        console.print(table)
    totals = ", ".join(f"{v} {k} {n}" for (v, k), n in sorted(counts.items())) or "none"
    typer.echo(f"findings since {after.isoformat(timespec='seconds')}: {totals}")
