"""``edgewatch models``: train, list, activate and evaluate probability models."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgewatch.clock import parse_timestamp
from edgewatch.config import load_settings
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import InvalidInput
from edgewatch.forecasting import dataset
from edgewatch.forecasting.evaluation import Evaluation
from edgewatch.forecasting.repository import load_resolved
from edgewatch.venues.sim.world import EPOCH, SimConfig, SimWorld

if TYPE_CHECKING:
    from edgewatch.forecasting.model import CalibrationChoice
    from edgewatch.forecasting.registry import ModelRegistry

app = typer.Typer(help="Probability models: train, list, activate, evaluate.", no_args_is_help=True)
console = Console()

_STAGES = ("load", "features", "fitted", "calibrated", "evaluated", "saved")


def _registry() -> ModelRegistry:
    # scikit-learn is imported only by the commands that need it: it costs seconds at start-up,
    # and every other ``edgewatch`` command (``serve``, ``demo``) would pay for it.
    from edgewatch.forecasting.registry import ModelRegistry

    return ModelRegistry.for_data_dir(load_settings().data_dir)


@app.command("train")
def train_command(
    name: Annotated[str, typer.Option("--name", help="Model name (registry key).")],
    start: Annotated[
        str | None, typer.Option("--from", help="Markets resolved at or after (ISO 8601).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Markets resolved before (ISO 8601).")
    ] = None,
    source: Annotated[
        str, typer.Option(help="'database' (stored resolved markets) or 'sim' (the simulator).")
    ] = "database",
    sim_days: Annotated[
        float, typer.Option(help="With --source sim: days of simulated markets.", min=0.01)
    ] = 1.0,
    sim_seed: Annotated[
        int | None, typer.Option(help="With --source sim: world seed (default: settings).")
    ] = None,
    sim_events: Annotated[
        int | None,
        typer.Option(help="With --source sim: concurrent events (default: settings).", min=1),
    ] = None,
    sample_minutes: Annotated[
        float, typer.Option(help="One sample per market per this many minutes.", min=0.01)
    ] = 1.0,
    calibration: Annotated[
        str, typer.Option(help="auto, none, sigmoid or isotonic (fitted on validation).")
    ] = "auto",
    regularisation: Annotated[float, typer.Option(help="Inverse L2 strength (C).", min=1e-6)] = 1.0,
    activate: Annotated[bool, typer.Option(help="Make the new version active.")] = False,
) -> None:
    """Train a calibrated logistic regression of P(YES) on resolved markets and store it."""
    if calibration not in ("auto", "none", "sigmoid", "isotonic"):
        raise InvalidInput(f"--calibration {calibration!r}: use auto, none, sigmoid or isotonic")
    method: CalibrationChoice = calibration  # type: ignore[assignment]
    settings = load_settings()
    from edgewatch.forecasting.model import MODEL_FEATURES, train

    registry = _registry()
    window_start = parse_timestamp(start) if start else None
    window_end = parse_timestamp(end) if end else None
    training: dict[str, Any] = {"source": source, "sample_minutes": sample_minutes}
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    )
    with progress:
        task = progress.add_task("loading resolved markets", total=len(_STAGES))

        def advance(stage: str) -> None:
            progress.update(task, advance=1, description=stage)

        if source == "sim":
            seed = settings.sim_seed if sim_seed is None else sim_seed
            events = settings.sim_events if sim_events is None else sim_events
            world = SimWorld(
                SimConfig(seed=seed, events=events, step_seconds=settings.sim_step_seconds)
            )
            first = window_start or EPOCH
            last = window_end or first + timedelta(days=sim_days)
            data = dataset.from_sim(world, start=first, end=last)
            training |= {"seed": seed, "events": events, "from": first.isoformat()}
            training |= {"to": last.isoformat()}
        elif source == "database":
            engine = create_db_engine(settings.resolved_database_url)
            try:
                with session_scope(make_session_factory(engine)) as session:
                    data = load_resolved(session, start=window_start, end=window_end)
            finally:
                engine.dispose()
            training |= {
                "from": window_start.isoformat() if window_start else None,
                "to": window_end.isoformat() if window_end else None,
            }
        else:
            raise InvalidInput(f"--source {source!r}: use 'database' or 'sim'")
        advance(f"computing features of {data.ticks.height:,} ticks")
        frame = dataset.samples(
            data, features=MODEL_FEATURES, every=timedelta(minutes=sample_minutes)
        )
        splits = dataset.split_by_resolution(frame)
        advance("fitting")
        result = train(splits, calibration=method, regularisation=regularisation, progress=advance)
        metadata = registry.save(name, result, training=training, activate=activate)
        advance("saved")
    test = result.test
    console.print(
        f"{name} v{metadata['version']}: {test.samples:,} test samples on {test.markets} markets, "
        f"Brier {test.brier:.4f} vs market {test.brier_market:.4f} "
        f"(advantage {test.brier_advantage:+.4f}), log loss {test.log_loss:.4f}, "
        f"calibration {result.model.calibration}" + (" — active" if activate else "")
    )


@app.command("list")
def list_command() -> None:
    """Every stored model version, its test metrics and which one is active."""
    registry = _registry()
    table = Table("name", "version", "active", "created", "source", "test Brier", "advantage")
    for name in registry.names():
        active = registry.active_version(name)
        for version in registry.versions(name):
            metadata = registry.metadata(name, version)
            test = metadata.get("metrics", {}).get("test", {})
            table.add_row(
                name,
                version,
                "yes" if version == active else "",
                str(metadata.get("created_at", ""))[:19],
                str(metadata.get("training", {}).get("source", "")),
                _number(test.get("brier")),
                _number(test.get("brier_advantage"), signed=True),
            )
    console.print(table)


@app.command("activate")
def activate_command(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version to make active.")],
) -> None:
    """Make VERSION the active version of NAME (after verifying its checksum)."""
    _registry().activate(name, version)
    console.print(f"{name}: v{version} is active")


@app.command("evaluate")
def evaluate_command(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str | None, typer.Argument(help="Version (default: active).")] = None,
) -> None:
    """Print a model's out-of-sample metrics and its calibration table."""
    registry = _registry()
    metadata = registry.metadata(name, version)
    registry.verify(name, str(metadata["version"]))
    for split in ("validation", "test"):
        evaluation = Evaluation.from_dict(metadata["metrics"][split])
        console.print(_metrics_table(f"{name} v{metadata['version']} — {split}", evaluation))
    console.print(_calibration_table(Evaluation.from_dict(metadata["metrics"]["test"])))


def _metrics_table(title: str, evaluation: Evaluation) -> Table:
    table = Table("metric", "model", "market", title=title)
    table.add_row("samples", f"{evaluation.samples:,}", "")
    table.add_row("markets", f"{evaluation.markets:,}", "")
    table.add_row("Brier", _number(evaluation.brier), _number(evaluation.brier_market))
    table.add_row("log loss", _number(evaluation.log_loss), _number(evaluation.log_loss_market))
    table.add_row("Brier advantage", _number(evaluation.brier_advantage, signed=True), "")
    return table


def _calibration_table(evaluation: Evaluation) -> Table:
    table = Table("bucket", "count", "predicted", "observed", title="calibration (test)")
    for row in evaluation.calibration.iter_rows(named=True):
        table.add_row(
            f"{row['bin_low']:.1f}–{row['bin_high']:.1f}",
            str(row["count"]),
            _number(row["mean_probability"], digits=3),
            _number(row["observed_frequency"], digits=3),
        )
    return table


def _number(value: object, *, digits: int = 4, signed: bool = False) -> str:
    if not isinstance(value, int | float) or value != value:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
