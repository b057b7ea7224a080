"""``edgewatch record``: save what a venue sends, for the ``replay`` source to play back."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from edgewatch.config import load_settings
from edgewatch.venues.recording import Recorder
from edgewatch.venues.replay.record import record_venue

app = typer.Typer(help="Record venues for replay.", no_args_is_help=True)
progress_console = Console(stderr=True)


@app.command("record")
def record_command(
    venue: Annotated[str, typer.Option("--venue", help="kalshi, polymarket or sim.")],
    out: Annotated[Path, typer.Option("--out", help="New (or empty) recording directory.")],
    duration: Annotated[
        float | None,
        typer.Option("--duration", help="Seconds to record (default: until Ctrl-C)."),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between polls of the venue.")
    ] = 10.0,
) -> None:
    """Poll a venue every INTERVAL seconds and save its raw responses for `--source replay`."""
    settings = load_settings()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    ]
    try:
        with Progress(*columns, console=progress_console, transient=True) as progress:
            task = progress.add_task(f"recording {venue}", total=duration, status="")

            def report(recorder: Recorder, elapsed: float, failed: int) -> None:
                counts = recorder.counts
                status = (
                    f"{counts['polls']} polls ({failed} failed), {counts['responses']} responses, "
                    f"{counts['frames']} frames, {counts['body_bytes']} bytes"
                )
                progress.update(task, completed=elapsed, status=status)

            summary = record_venue(
                venue,
                settings=settings,
                out=out,
                duration=duration,
                interval=interval,
                on_progress=report,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    stopped = " (stopped early)" if summary.interrupted else ""
    typer.echo(
        f"recorded {summary.venue} to {summary.out}{stopped}: {summary.polls} polls "
        f"({summary.failed_polls} failed), {summary.responses} responses, {summary.frames} "
        f"frames, {summary.results} records, {summary.body_bytes} bytes"
    )


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
