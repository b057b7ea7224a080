"""``edgewatch links ...``: list, confirm, reject and propose cross-venue links.

Each command runs in one transaction against the configured database. Errors the user can fix
(an unknown link id, a bad overrides file, an unreachable database) are one ``edgewatch: ...``
line on stderr with exit status 2.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from edgewatch import data_versions
from edgewatch.command import command_session, fail
from edgewatch.config import load_settings
from edgewatch.errors import EdgewatchError
from edgewatch.markets import links

STATUSES = ("proposed", "confirmed", "rejected")

app = typer.Typer(
    help="Cross-venue links: review the matcher's proposals.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
T = TypeVar("T")


def _default_reviewer() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _run(action: Callable[[Session], T]) -> T:
    try:
        with command_session() as session:
            return action(session)
    except EdgewatchError as exc:
        fail(exc.message)


def _change(action: Callable[[Session], T]) -> T:
    """``_run`` for commands that change links: once committed, the API's cached market and link
    answers (which show links) are made stale, as a review through the API does."""
    result = _run(action)
    data_versions.bump(load_settings(), ("markets",))
    return result


@app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option("--status", help="proposed, confirmed or rejected.")
    ] = None,
    venue: Annotated[str | None, typer.Option("--venue", help="Links with a market here.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
) -> None:
    """Show links, most recent ids last: both titles, relation, confidence and status."""
    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}, got {status!r}")
    rows = _run(lambda s: links.list_links(s, limit=limit, status=status, venue=venue))
    table = Table("id", "market A", "market B", "relation", "confidence", "status")
    for row in rows:
        table.add_row(
            str(row.link.id),
            f"[{row.a.venue}] {row.a.title}",
            f"[{row.b.venue}] {row.b.title}",
            row.link.relation,
            f"{row.link.confidence:.2f}",
            row.link.status,
        )
    console.print(table)
    console.print(f"{len(rows)} link(s)")


@app.command("confirm")
def confirm_command(
    link_id: Annotated[int, typer.Argument(help="Link id (see `links list`).")],
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Who confirms (default: cli:<user>).")
    ] = None,
) -> None:
    """Confirm a link: it may then produce arbitrage signals. Audited."""
    who = reviewer or _default_reviewer()
    link = _change(lambda s: links.confirm(s, link_id, reviewer=who))
    console.print(f"link {link.id}: {link.status} ({link.relation}) by {link.reviewed_by}")


@app.command("reject")
def reject_command(
    link_id: Annotated[int, typer.Argument(help="Link id (see `links list`).")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the audit log.")] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Who rejects (default: cli:<user>).")
    ] = None,
) -> None:
    """Reject a link; the matcher never proposes it again. Audited."""
    who = reviewer or _default_reviewer()
    link = _change(lambda s: links.reject(s, link_id, reviewer=who, reason=reason))
    console.print(f"link {link.id}: {link.status} by {link.reviewed_by}")


@app.command("propose")
def propose_command(
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="Overrides file (default: link-overrides.json in data)."),
    ] = None,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0.0, max=1.0)
    ] = links.DEFAULT_MIN_CONFIDENCE,
) -> None:
    """Run matching over the open markets now and store new proposals."""
    settings = load_settings()
    path = overrides or links.default_overrides_path(settings)
    if overrides is not None and not overrides.exists():
        fail(f"no such overrides file: {overrides}")
    with Progress(
        TextColumn("matching"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("matching", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        def act(session: Session) -> links.MatchRun:
            return links.run_matching(
                session,
                overrides=links.load_overrides(path),
                min_confidence=min_confidence,
                progress=advance,
            )

        run = _change(act)
    console.print(
        f"{run.markets} open markets, {run.proposals} proposals: {run.added} new, "
        f"{run.refreshed} refreshed, {run.kept_reviewed} already reviewed, "
        f"{run.blocked_proposals} blocked; overrides: {run.pinned} pinned, {run.blocked} blocked"
        + (f", {len(run.unresolved)} naming unknown markets" if run.unresolved else "")
    )
