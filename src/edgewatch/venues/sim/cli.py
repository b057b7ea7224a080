"""``edgewatch sim``: look behind the simulator's curtain (for tests, benchmarks and demos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from edgewatch.clock import parse_timestamp, utcnow
from edgewatch.config import load_settings
from edgewatch.errors import InvalidInput
from edgewatch.venues.sim.world import SimConfig, SimWorld

app = typer.Typer(help="The market simulator.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("truth")
def truth(
    out: Annotated[Path, typer.Option("--out", help="JSON file to write.")],
    start: Annotated[str, typer.Option("--from", help="Window start (ISO 8601 or epoch).")],
    end: Annotated[str | None, typer.Option("--to", help="Window end (default: now).")] = None,
) -> None:
    """Write the hidden truth of a window: true probabilities, outcomes, injected mispricings."""
    settings = load_settings()
    world = SimWorld(
        SimConfig(
            seed=settings.sim_seed,
            events=settings.sim_events,
            step_seconds=settings.sim_step_seconds,
        )
    )
    window_start = parse_timestamp(start)
    window_end = parse_timestamp(end) if end else utcnow()
    if window_end <= window_start:
        raise InvalidInput(f"--to ({window_end.isoformat()}) must be after --from")
    document = world.truth(window_start, window_end)
    out.write_text(json.dumps(document))
    episodes = sum(len(event["mispricings"]) for event in document["events"])
    console.print(f"wrote {out}: {len(document['events'])} events, {episodes} injected mispricings")
