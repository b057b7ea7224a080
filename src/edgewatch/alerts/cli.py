"""``edgewatch alerts ...``: send a test notification, list the alerts firing now.

Errors the user can fix (a channel that is not configured, a channel that refuses the message, an
unreachable database) are one ``edgewatch: ...`` line on stderr and exit status 2.
"""

from __future__ import annotations

from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from edgewatch.alerts.channels import CHANNEL_NAMES, Notification, channel, configured_channels
from edgewatch.clock import utcnow
from edgewatch.command import command_session, one_line_errors
from edgewatch.config import load_settings
from edgewatch.models import Alert
from edgewatch.observability.logging import configure_logging

app = typer.Typer(
    help="In-app alerting: test the channels, list firing alerts.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


@app.command("test")
@one_line_errors
def test_command(
    channel_name: Annotated[
        str,
        typer.Option(
            "--channel", "-c", help=f"The channel to test: one of {', '.join(CHANNEL_NAMES)}."
        ),
    ],
) -> None:
    """Send a test notification to one configured channel."""
    settings = load_settings()
    configure_logging(level="warning", fmt=settings.log_format)
    target = channel(settings, channel_name)
    with console.status(f"sending a test notification to {channel_name}…"):
        target.send(
            Notification(
                status="firing",
                rule="EdgewatchTestNotification",
                severity="info",
                summary="Test notification from Edgewatch",
                description="If you can read this, Edgewatch alerts reach this channel.",
                started_at=utcnow(),
                labels={"channel": channel_name},
            )
        )
    console.print(f"sent a test notification to {channel_name}")


@app.command("list")
@one_line_errors
def list_command(
    all_alerts: Annotated[
        bool, typer.Option("--all", help="Include alerts resolved in the last 24 hours.")
    ] = False,
) -> None:
    """The alerts firing now, as of the last `evaluate-alerts` run."""
    settings = load_settings()
    channels = list(configured_channels(settings))
    table = Table("rule", "severity", "status", "labels", "since", "summary", "notified")
    with command_session() as session:
        query = select(Alert).order_by(Alert.started_at.desc(), Alert.id.desc())
        if not all_alerts:
            query = query.where(Alert.status == "firing")
        alerts = [
            alert
            for alert in session.scalars(query)
            if alert.status == "firing"
            or (alert.resolved_at is not None and (utcnow() - alert.resolved_at).days < 1)
        ]
        for alert in alerts:
            told = sorted(
                name
                for name, delivery in alert.deliveries.items()
                if delivery.get("status") == alert.status
            )
            table.add_row(
                alert.rule,
                alert.severity,
                alert.status,
                ", ".join(f"{key}={value}" for key, value in sorted(alert.labels.items())),
                alert.started_at.isoformat(timespec="seconds"),
                alert.summary,
                ", ".join(told) or "-",
            )
        firing = sum(alert.status == "firing" for alert in alerts)
    if alerts:
        console.print(table)
    where = ", ".join(channels) if channels else "no channel configured"
    console.print(f"{firing} alert(s) firing; notifications go to: {where}")
