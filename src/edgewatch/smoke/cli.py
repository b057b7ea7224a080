"""``edgewatch smoke``: run after every deploy; a non-zero exit fails the rollout."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from edgewatch.errors import InvalidInput
from edgewatch.smoke.checks import CheckResult, run_checks
from edgewatch.venues.http import create_http_client

console = Console()


def _table(results: list[CheckResult]) -> Table:
    table = Table(title="smoke test")
    for column in ("check", "result", "status", "ms", "detail"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    for result in results:
        table.add_row(
            result.name,
            "[green]pass[/]" if result.ok else "[red]FAIL[/]",
            "-" if result.status is None else str(result.status),
            f"{result.elapsed_ms:.0f}",
            result.detail,
        )
    return table


def smoke_command(
    url: Annotated[
        str, typer.Option(help="Base URL of the deployment, e.g. https://edge.example.")
    ],
    api_key: Annotated[
        str | None,
        typer.Option(envvar="EDGEWATCH_SMOKE_API_KEY", help="API key for the resource reads."),
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, max=120, help="Seconds per request.")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Check a running deployment: health, readiness, a read of each resource, metrics."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"--url must start with http:// or https://, got {url!r}")
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidInput(f"--url is not a usable URL ({exc}): {url!r}") from None
    with create_http_client(base_url=url.rstrip("/"), timeout=timeout) as client:
        results = list(run_checks(client, api_key))
    failed = [result.name for result in results if not result.ok]
    if as_json:
        print(json.dumps([asdict(result) for result in results], indent=2))
    else:
        console.print(_table(results))
        summary = f"smoke: {len(results) - len(failed)}/{len(results)} checks passed against {url}"
        console.print(summary + (f"; failed: {', '.join(failed)}" if failed else ""))
    if failed:
        raise typer.Exit(1)
