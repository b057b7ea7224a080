"""``edgewatch backtest``: run, rerun, inspect, compare, sweep and walk-forward stored backtests.

Errors the user can fix (bad JSON, an unknown strategy or parameter, an empty window, an unknown
run) are one line on stderr and exit status 2. Ctrl-C stops a run or sweep cleanly: its
transaction is rolled back, nothing of it is stored, and the exit status is 130.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from edgewatch.backtest import repository, run_config, service, sweep
from edgewatch.backtest.records import BacktestConfig
from edgewatch.clock import parse_timestamp
from edgewatch.command import command_session, one_line_errors
from edgewatch.config import load_settings
from edgewatch.errors import InvalidInput
from edgewatch.models.backtest import BacktestRun

app = typer.Typer(help="Backtests: run, rerun, list, show, compare, sweep.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

StrategyOption = Annotated[str, typer.Option("--strategy", "-s", help="Strategy name.")]
ParamsOption = Annotated[
    str | None, typer.Option("--params", help="Strategy parameters as JSON, e.g. '{\"a\": 1}'.")
]
SettingsOption = Annotated[
    str | None,
    typer.Option(
        "--settings",
        help='Engine settings as JSON, e.g. \'{"step_seconds": 300, "slippage": "0.02"}\'.',
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option("--from", help="Window start (ISO 8601 or epoch; default: first tick)."),
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Window end (ISO 8601 or epoch; default: last tick).")
]
SeedOption = Annotated[
    int, typer.Option("--seed", min=0, help="Seed for the bootstrap (and draws).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
WorkersOption = Annotated[
    int, typer.Option("--workers", min=1, help="Worker processes (when trials run locally).")
]
LocalOption = Annotated[
    bool,
    typer.Option(
        "--local",
        help="Run trials in local processes even when a broker (EDGEWATCH_REDIS_URL) is set; "
        "otherwise they go to the Celery workers.",
    ),
]


def _json_object(text: str | None, option: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{option} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{option} must be a JSON object")
    return value


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_timestamp(text)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``6h``, ``2d``, ``1w`` or combinations such as ``1h30m``."""
    raw = text.strip().lower()
    parts = _DURATION.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise InvalidInput(f"not a duration: {text!r} (use e.g. 90s, 30m, 6h, 2d, 1h30m)")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def _config(settings: str | None) -> BacktestConfig:
    return run_config.config_from_json(_json_object(settings, "--settings"))


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[service.Hooks]:
    if not enabled:
        yield service.Hooks()
        return
    with Progress(
        TextColumn("replaying simulated time"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("replay", total=1.0)
        yield service.Hooks(progress=lambda done: bar.update(task, completed=done))


def _format(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _metrics_table(run: BacktestRun) -> Table:
    table = Table("metric", "value", title=f"backtest run {run.id} — {run.strategy}")
    for key, value in (run.metrics or {}).items():
        if key in ("calibration", "warnings"):
            continue
        table.add_row(key, _format(value))
    return table


def _print_run(run: BacktestRun, *, as_json: bool) -> None:
    if as_json:
        typer.echo(service.metrics_json(run))
        return
    window = f"{_format(run.window_start)} → {_format(run.window_end)}"
    out.print(
        f"run {run.id}: {run.status} · {run.strategy} v{run.strategy_version} "
        f"{json.dumps(run.params, sort_keys=True)} · {window} · seed {run.seed}",
        highlight=False,
        markup=False,
    )
    out.print(_metrics_table(run))
    for warning in run.warnings or []:
        out.print(f"warning: {warning}", style="yellow", highlight=False, markup=False)


@app.command("run")
@one_line_errors
def run_command(
    strategy: StrategyOption,
    params: ParamsOption = None,
    start: FromOption = None,
    end: ToOption = None,
    seed: SeedOption = 0,
    settings: SettingsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay stored ticks through a strategy, store the run and print its metrics."""
    parsed = _json_object(params, "--params")
    config = _config(settings)
    window_start, window_end = _time(start), _time(end)
    with command_session() as session, _progress_bar(not as_json) as hooks:
        run = service.run_and_store(
            session,
            strategy=strategy,
            params=parsed,
            start=window_start,
            end=window_end,
            seed=seed,
            config=config,
            hooks=hooks,
        )
    _print_run(run, as_json=as_json)


@app.command("rerun")
@one_line_errors
def rerun_command(
    run_id: Annotated[int, typer.Argument(help="The run to replay.")],
    as_json: JsonOption = False,
) -> None:
    """Replay a stored run exactly (same data window, parameters, settings and seed)."""
    with command_session() as session, _progress_bar(not as_json) as hooks:
        run = service.rerun(session, run_id, hooks=hooks)
        original = service.get_run(session, run_id)
        same = run.metrics == original.metrics
    _print_run(run, as_json=as_json)
    if not as_json:
        verdict = "identical to" if same else "DIFFERENT from"
        out.print(f"metrics {verdict} run {run_id}", highlight=False)


@app.command("list")
@one_line_errors
def list_command(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many runs.")] = 20,
    strategy: Annotated[str | None, typer.Option(help="Only this strategy.")] = None,
) -> None:
    """Recent runs, newest first."""
    with command_session() as session:
        runs = repository.list_runs(session, limit=limit, strategy=strategy)
    table = Table(
        Column("id", no_wrap=True),
        "created",
        Column("strategy", no_wrap=True),
        Column("status", no_wrap=True),
        "window",
        "pnl",
        "sharpe",
        "trades",
    )
    for run in runs:
        metrics = run.metrics or {}
        window = (
            f"{run.window_start:%Y-%m-%d %H:%M} → {run.window_end:%Y-%m-%d %H:%M}"
            if run.window_start and run.window_end
            else "—"
        )
        table.add_row(
            str(run.id),
            f"{run.created_at:%Y-%m-%d %H:%M:%S}",
            run.strategy,
            run.status,
            window,
            _format(metrics.get("pnl")),
            _format(metrics.get("sharpe")),
            _format(metrics.get("trades")),
        )
    out.print(table)


@app.command("show")
@one_line_errors
def show_command(
    run_id: Annotated[int, typer.Argument(help="Run id.")],
    as_json: JsonOption = False,
) -> None:
    """One run: what ran, on what, and its metrics."""
    with command_session() as session:
        run = service.get_run(session, run_id)
    _print_run(run, as_json=as_json)
    if not as_json:
        out.print(
            f"code {run.code_version} · features v{run.feature_set_version} · "
            f"data {(run.data_fingerprint or '—')[:12]}"
            + (f" · rerun of {run.rerun_of}" if run.rerun_of else ""),
            highlight=False,
        )
        if run.error:
            out.print(f"error: {run.error}", style="red", highlight=False, markup=False)


@app.command("compare")
@one_line_errors
def compare_command(
    first: Annotated[int, typer.Argument(help="Run id.")],
    second: Annotated[int, typer.Argument(help="Run id.")],
    as_json: JsonOption = False,
) -> None:
    """Two runs' parameters and metrics side by side, with the difference."""
    with command_session() as session:
        a, b = service.get_run(session, first), service.get_run(session, second)
    keys = [k for k in {**(a.metrics or {}), **(b.metrics or {})} if k not in ("calibration",)]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "runs": [service.run_document(a), service.run_document(b)],
                    "difference": {
                        k: _difference(a.metrics.get(k), b.metrics.get(k)) for k in keys
                    },
                },
                sort_keys=True,
            )
        )
        return
    table = Table("", f"run {a.id}", f"run {b.id}", "difference")
    table.add_row("strategy", a.strategy, b.strategy, "")
    table.add_row(
        "params", json.dumps(a.params, sort_keys=True), json.dumps(b.params, sort_keys=True), ""
    )
    table.add_row("window start", _format(a.window_start), _format(b.window_start), "")
    table.add_row("window end", _format(a.window_end), _format(b.window_end), "")
    for key in keys:
        if key == "warnings":
            continue
        left, right = a.metrics.get(key), b.metrics.get(key)
        table.add_row(key, _format(left), _format(right), _format(_difference(left, right)))
    out.print(table)


def _difference(left: Any, right: Any) -> Any:
    """``right − left`` for numbers (decimal strings stay exact), else ``None``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return right - left
    if isinstance(left, str) and isinstance(right, str):
        try:
            return str(Decimal(right) - Decimal(left))
        except InvalidOperation:
            return None
    return None


@app.command("sweep")
@one_line_errors
def sweep_command(
    strategy: StrategyOption,
    grid: Annotated[
        str,
        typer.Option("--grid", help="Parameter grid as JSON, e.g. '{\"entry_zscore\": [2, 3]}'."),
    ],
    params: ParamsOption = None,
    random_count: Annotated[
        int | None, typer.Option("--random", min=1, help="Draw N random grid points.")
    ] = None,
    seed: SeedOption = 0,
    workers: WorkersOption = 1,
    start: FromOption = None,
    end: ToOption = None,
    settings: SettingsOption = None,
    as_json: JsonOption = False,
    local: LocalOption = False,
) -> None:
    """Run and store one backtest per grid point, on the Celery workers or --workers processes."""
    parsed_grid = _json_object(grid, "--grid")
    base = _json_object(params, "--params")
    config = _config(settings)
    with (
        command_session() as session,
        Progress(
            TextColumn("sweep"), BarColumn(), TaskProgressColumn(), console=err, transient=True
        ) as bar,
    ):
        task = bar.add_task("sweep", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = sweep.sweep(
            session,
            strategy=strategy,
            grid=parsed_grid,
            params=base,
            start=_time(start),
            end=_time(end),
            seed=seed,
            config=config,
            random_count=random_count,
            workers=workers,
            on_trial=advance,
            remote=None if local else sweep.remote_trials(load_settings()),
        )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "strategy": report.strategy,
                    "window_start": report.start.isoformat(),
                    "window_end": report.end.isoformat(),
                    "trials": [
                        {
                            "run_id": t.run_id,
                            "params": t.params,
                            "deflated_sharpe": t.deflated_sharpe,
                            "metrics": t.metrics,
                        }
                        for t in report.trials
                    ],
                },
                sort_keys=True,
            )
        )
        return
    table = Table(
        "run", "params", "pnl", "sharpe", "deflated sharpe", "trades", "max drawdown",
        title=f"sweep of {report.strategy}: {len(report.trials)} trials",
    )  # fmt: skip
    for t in report.trials:
        table.add_row(
            str(t.run_id),
            json.dumps(t.params, sort_keys=True),
            _format(t.metrics.get("pnl")),
            _format(t.metrics.get("sharpe")),
            _format(t.deflated_sharpe),
            _format(t.metrics.get("trades")),
            _format(t.metrics.get("max_drawdown")),
        )
    out.print(table)


@app.command("walk-forward")
@one_line_errors
def walk_forward_command(
    strategy: StrategyOption,
    train: Annotated[str, typer.Option("--train", help="Train window, e.g. 6h or 2d.")],
    test: Annotated[str, typer.Option("--test", help="Test window, e.g. 1h or 1d.")],
    params: ParamsOption = None,
    grid: Annotated[
        str | None,
        typer.Option("--grid", help="Grid to choose parameters from on each train window (JSON)."),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="Metric the train windows maximise (with --grid).")
    ] = "sharpe",
    seed: SeedOption = 0,
    workers: WorkersOption = 1,
    start: FromOption = None,
    end: ToOption = None,
    settings: SettingsOption = None,
    as_json: JsonOption = False,
    local: LocalOption = False,
) -> None:
    """Rolling train/test windows; reports out-of-sample (test window) metrics only."""
    train_span, test_span = parse_duration(train), parse_duration(test)
    parsed_grid = _json_object(grid, "--grid") if grid is not None else None
    base = _json_object(params, "--params")
    config = _config(settings)
    with command_session() as session, err.status("walking forward…"):
        report = sweep.walk_forward(
            session,
            strategy=strategy,
            train=train_span,
            test=test_span,
            params=base,
            grid=parsed_grid,
            start=_time(start),
            end=_time(end),
            seed=seed,
            config=config,
            objective=objective,
            workers=workers,
            remote=None if local else sweep.remote_trials(load_settings()),
        )
    summary = report.out_of_sample()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "strategy": report.strategy,
                    "objective": report.objective,
                    "out_of_sample": summary,
                    "windows": [
                        {
                            "train_start": w.train_start.isoformat(),
                            "test_start": w.test_start.isoformat(),
                            "test_end": w.test_end.isoformat(),
                            "params": w.params,
                            "run_id": w.run_id,
                            "metrics": w.metrics,
                        }
                        for w in report.windows
                    ],
                },
                sort_keys=True,
            )
        )
        return
    table = Table(
        "test window", "params", "run", "pnl", "sharpe", "trades",
        title=f"walk-forward of {report.strategy}: out-of-sample only",
    )  # fmt: skip
    for w in report.windows:
        metrics = w.metrics or {}
        table.add_row(
            f"{w.test_start:%Y-%m-%d %H:%M} → {w.test_end:%Y-%m-%d %H:%M}",
            json.dumps(w.params, sort_keys=True),
            _format(w.run_id),
            _format(metrics.get("pnl")),
            _format(metrics.get("sharpe")),
            _format(metrics.get("trades")),
        )
    out.print(table)
    out.print(
        f"out of sample: pnl {summary['pnl']} over {summary['windows_replayed']} window(s), "
        f"{summary['trades']} trades, fees {summary['fees_paid']}, "
        f"{summary['profitable_windows']} profitable",
        highlight=False,
    )
