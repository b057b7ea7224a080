"""The ``edgewatch`` command line. Each capability owns its commands; they are mounted here.

Every command fails with one line on stderr and exit status 2 for errors the user can fix (bad
configuration, bad input, an unreachable database) — never a traceback.
"""

from __future__ import annotations

import contextlib
import decimal
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import desc, func, select

from edgewatch.accounts.bootstrap import announce_demo_admin
from edgewatch.accounts.cli import audit_app, users_app
from edgewatch.alerts.cli import app as alerts_app
from edgewatch.api.openapi_export import app as openapi_app
from edgewatch.archive.cli import app as archive_app
from edgewatch.backtest.cli import app as backtest_app
from edgewatch.config import Settings, load_settings
from edgewatch.db import migrate
from edgewatch.db.backup_cli import backup_command, backups_command, restore_command
from edgewatch.db.connect import open_migrated_engine
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import EdgewatchError, error_line
from edgewatch.forecasting.cli import app as models_app
from edgewatch.jobs.cli import scheduler_command, worker_command
from edgewatch.markets.cli import app as links_app
from edgewatch.models import PipelineRun
from edgewatch.observability.logging import configure_logging
from edgewatch.paper.cli import app as paper_app
from edgewatch.quality.cli import app as quality_app
from edgewatch.retention.cli import app as retention_app
from edgewatch.signals.scoring import signals_report
from edgewatch.smoke.cli import smoke_command
from edgewatch.ticks.cli import export_command, import_command
from edgewatch.venues.cli import app as venues_app
from edgewatch.venues.cli import fees_command
from edgewatch.venues.replay.cli import record_command
from edgewatch.venues.sim.cli import app as sim_app

app = typer.Typer(
    name="edgewatch",
    help="Prediction-market intelligence: ingest, signals, backtests, API and dashboard.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
pipeline_app = typer.Typer(help="Run and inspect pipelines.", no_args_is_help=True)
signals_app = typer.Typer(help="Trading signals and how they scored.", no_args_is_help=True)
signals_app.command("report")(signals_report)
app.add_typer(db_app, name="db")
db_app.command("backup")(backup_command)
db_app.command("restore")(restore_command)
db_app.command("backups")(backups_command)
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(venues_app, name="venues")
app.add_typer(links_app, name="links")
app.add_typer(models_app, name="models")
app.add_typer(signals_app, name="signals")
app.add_typer(backtest_app, name="backtest")
app.add_typer(paper_app, name="paper")
app.add_typer(alerts_app, name="alerts")
app.add_typer(sim_app, name="sim")
app.add_typer(archive_app, name="archive")
app.add_typer(retention_app, name="retention")
app.add_typer(quality_app, name="quality")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(openapi_app, name="openapi")
app.command("fees")(fees_command)
app.command("record")(record_command)
app.command("import")(import_command)
app.command("export")(export_command)
app.command("worker")(worker_command)
app.command("scheduler")(scheduler_command)
app.command("smoke")(smoke_command)
console = Console()


def _check_database(settings: Settings) -> None:
    """Connect and migrate before serving, so a bad database fails in one clear line."""
    open_migrated_engine(settings.resolved_database_url, pool_size=1).dispose()


def _serve(settings: Settings) -> None:
    from edgewatch.api.server import base_url, run_server

    configure_logging(level=settings.log_level, fmt=settings.log_format)
    _check_database(settings)
    console.print(
        f"[bold green]Edgewatch[/] is serving on [link]{base_url(settings)}/[/]"
        f" with {settings.api_workers} process(es)  (API docs at /docs; Ctrl-C to stop)"
    )
    # Uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal; a stop we asked
    # for is a clean exit, not a crash.
    signal.signal(signal.SIGTERM, _stopped)
    with contextlib.suppress(KeyboardInterrupt):
        run_server(settings)
    console.print("Edgewatch stopped cleanly.")


def _stopped(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def serve() -> None:
    """Serve the API and dashboard with the current configuration."""
    _serve(load_settings())


@app.command()
def demo(
    source: Annotated[
        str | None,
        typer.Option(help="Comma-separated sources to ingest (default: sim, the simulator)."),
    ] = None,
    recording: Annotated[
        Path | None,
        typer.Option(help="A recording made by `edgewatch record` (implies --source replay)."),
    ] = None,
) -> None:
    """Run everything on the embedded default: SQLite, simulator, in-process scheduler."""
    # Public read: the demo shows data at once; the admin account below signs in for the rest.
    overrides: dict[str, object] = {
        "embedded_scheduler": True,
        "public_read": True,
        "api_workers": 1,
    }
    if recording is not None:
        overrides["recording_dir"] = recording
        source = source or "replay"
    if source:
        overrides["sources"] = source
    settings = load_settings(**overrides)
    if "replay" in settings.sources:
        from edgewatch.venues.replay.venue import open_replay

        # A bad recording is one clear line now, not a failed application start-up later.
        open_replay(settings.recording_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"data directory: {settings.data_dir}")
    _check_database(settings)
    announce_demo_admin(settings, console)
    _serve(settings)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = load_settings()
    if revision == "head":
        _check_database(settings)
    else:
        migrate.upgrade(settings.resolved_database_url, revision)
    console.print(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("-1", help="Target revision.")) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    migrate.downgrade(load_settings().resolved_database_url, revision)
    console.print(f"database downgraded to {revision}")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree (``alembic check``)."""
    migrate.check(load_settings().resolved_database_url)
    console.print("no drift between models and migrations")


@pipeline_app.command("list")
def pipeline_list() -> None:
    """Every pipeline with its last run."""
    from edgewatch.jobs.pipelines import available_pipelines

    settings = load_settings()
    _check_database(settings)
    engine = create_db_engine(settings.resolved_database_url)
    table = Table("pipeline", "description", "last run", "status", "stored", "rejected")
    with session_scope(make_session_factory(engine)) as session:
        for spec in available_pipelines(settings).values():
            last = session.scalars(
                select(PipelineRun)
                .where(PipelineRun.pipeline == spec.name)
                .order_by(desc(PipelineRun.id))
                .limit(1)
            ).first()
            table.add_row(
                spec.name,
                spec.description,
                last.started_at.isoformat(timespec="seconds") if last else "never",
                last.status if last else "-",
                str(last.rows_stored) if last else "-",
                str(last.rows_rejected) if last else "-",
            )
        runs = session.scalar(select(func.count()).select_from(PipelineRun))
    engine.dispose()
    console.print(table)
    console.print(f"{runs} runs recorded")


@pipeline_app.command("run")
def pipeline_run(name: str = typer.Argument(help="Pipeline name (see `pipeline list`).")) -> None:
    """Run one pipeline now and print its outcome."""
    from edgewatch.jobs.pipelines import get_pipeline
    from edgewatch.jobs.runner import run_pipeline

    settings = load_settings()
    configure_logging(level="warning", fmt=settings.log_format)
    spec = get_pipeline(settings, name)
    _check_database(settings)
    engine = create_db_engine(settings.resolved_database_url)
    with console.status(f"running {name}…"):
        run = run_pipeline(name, spec.step, settings=settings, engine=engine)
    engine.dispose()
    console.print(
        f"{name}: {run.status} — {run.rows_in} in, {run.rows_stored} stored, "
        f"{run.rows_rejected} rejected" + (f" — {run.error}" if run.error else "")
    )
    if run.status != "succeeded":
        raise typer.Exit(1)


def main() -> None:
    """Console entry point: user-fixable errors become one line and exit status 2.

    Errors that reach here unplanned are still reported in one line (what failed, and how to see
    the traceback) rather than as a traceback: values too large for their type, input nested too
    deeply, files that cannot be written, and settings objects that refuse a value.
    """
    try:
        app()
    except EdgewatchError as exc:
        _exit(exc.message, 2)
    except KeyboardInterrupt:
        sys.exit(130)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or exc.title
        _exit(f"{where}: {first['msg']}", 2)
    except (OverflowError, decimal.InvalidOperation, decimal.Overflow) as exc:
        _exit(f"a number is out of range ({type(exc).__name__}: {exc})", 2)
    except RecursionError:
        _exit("the input is nested too deeply to read", 2)
    except OSError as exc:
        _exit(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), 2)
    except Exception as exc:
        if os.environ.get("EDGEWATCH_LOG_LEVEL", "").lower() == "debug":
            raise
        _exit(
            f"unexpected error ({type(exc).__name__}: {str(exc)[:300]}); "
            "EDGEWATCH_LOG_LEVEL=debug shows the traceback",
            1,
        )


def _exit(message: str, status: int) -> NoReturn:
    print(error_line(message), file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
