"""Parameter sweeps and walk-forward analysis over stored data.

A sweep replays one window once per parameter point (a full grid, or ``random`` points drawn from
it with a seed). The data is read once; the replays run in worker processes when ``workers > 1``,
each worker receiving the data once — or, given a ``remote`` executor (``remote_trials``: Celery
workers when a broker is configured, see ``jobs.trials``), on the workers, which read the same
window themselves and check its fingerprint. Either way the outcomes are the same.

Local workers come from a ``forkserver``: no fork of a process that may hold threads or
connections, and, unlike ``spawn``, no re-import of an unguarded ``__main__`` (``python -m
edgewatch`` runs the CLI at import). Workers ignore Ctrl-C; the parent cancels the
trials not yet started and waits for the running ones, and nothing is stored. Replays are
deterministic and results are stored in grid order by the caller's session, so a parallel sweep
stores exactly what a serial one does. Each trial is an ordinary stored run (rerunnable); its
deflated Sharpe ratio against all the sweep's trials is kept in the run's ``summary``.

Walk-forward: rolling windows of ``train`` then ``test``, advancing by ``test``. With a grid, the
point with the best ``objective`` on the train window (not stored: it is in-sample) is replayed on
the test window; without one the given parameters are. Only the test windows are stored and
reported: the out-of-sample record.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import signal
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from edgewatch.backtest.metrics import compute_metrics
from edgewatch.backtest.records import BacktestConfig
from edgewatch.backtest.run_config import config_from_json, config_to_json
from edgewatch.backtest.service import (
    BacktestInputs,
    Outcome,
    execute,
    load_inputs,
    new_run,
    store_outcome,
)
from edgewatch.errors import InvalidInput
from edgewatch.strategies.registry import create_strategy

if TYPE_CHECKING:
    from edgewatch.config import Settings

#: More points than this is a mistake, not a sweep.
MAX_POINTS = 100_000
#: Walk-forward windows one run may make: each is a backtest of its own, stored.
MAX_FOLDS = 1_000
#: Called after each finished trial with (finished, total).
TrialProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class SweepTrial:
    params: dict[str, Any]
    run_id: int
    metrics: dict[str, Any]
    #: Probability that the trial's true Sharpe beats the best of the sweep's trials by luck.
    deflated_sharpe: float | None


@dataclass(frozen=True)
class SweepReport:
    strategy: str
    start: datetime
    end: datetime
    trials: list[SweepTrial]


@dataclass(frozen=True)
class WalkForwardWindow:
    train_start: datetime
    train_end: datetime
    test_start: datetime
    test_end: datetime
    params: dict[str, Any]
    #: ``None`` when the test window held no ticks (skipped).
    run_id: int | None
    metrics: dict[str, Any] | None


@dataclass(frozen=True)
class WalkForwardReport:
    strategy: str
    objective: str
    windows: list[WalkForwardWindow]

    def out_of_sample(self) -> dict[str, Any]:
        """Totals over the test windows only."""
        done = [w.metrics for w in self.windows if w.metrics is not None]
        pnl = sum((Decimal(m["pnl"]) for m in done), Decimal(0))
        fees = sum((Decimal(m["fees_paid"]) for m in done), Decimal(0))
        returns = [m["return_on_capital"] for m in done if m["return_on_capital"] is not None]
        return {
            "windows": len(self.windows),
            "windows_replayed": len(done),
            "pnl": str(pnl),
            "fees_paid": str(fees),
            "trades": sum(int(m["trades"]) for m in done),
            "mean_return_on_capital": sum(returns) / len(returns) if returns else None,
            "profitable_windows": sum(1 for m in done if Decimal(m["pnl"]) > 0),
        }


# --- parameter points ----------------------------------------------------------------------------


def normalise_grid(grid: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{"name": [values...]}``; a scalar value is a one-point axis. ``InvalidInput`` if empty."""
    if not isinstance(grid, Mapping) or not grid:
        raise InvalidInput('the grid must be a non-empty JSON object like {"name": [1, 2]}')
    axes: dict[str, list[Any]] = {}
    for name in sorted(grid):
        values = grid[name]
        values = list(values) if isinstance(values, list | tuple) else [values]
        if not values:
            raise InvalidInput(f"grid axis {name!r} has no values")
        axes[name] = values
    size = math.prod(len(values) for values in axes.values())
    if size > MAX_POINTS:
        raise InvalidInput(f"the grid has {size} points; at most {MAX_POINTS} are allowed")
    return axes


def grid_points(
    grid: Mapping[str, Any], *, base: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every point of the grid, last axis fastest, each over ``base`` parameters."""
    axes = normalise_grid(grid)
    size = math.prod(len(values) for values in axes.values())
    return [_point(axes, index, base) for index in range(size)]


def random_points(
    grid: Mapping[str, Any], count: int, *, seed: int, base: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """``count`` distinct grid points drawn with ``seed`` (all of them if the grid is smaller)."""
    if count < 1:
        raise InvalidInput("--random must be at least 1")
    axes = normalise_grid(grid)
    size = math.prod(len(values) for values in axes.values())
    indices = random.Random(seed).sample(range(size), min(count, size))
    return [_point(axes, index, base) for index in indices]


def _point(
    axes: dict[str, list[Any]], index: int, base: Mapping[str, Any] | None
) -> dict[str, Any]:
    point = dict(base or {})
    for name in reversed(list(axes)):
        values = axes[name]
        index, position = divmod(index, len(values))
        point[name] = values[position]
    return {name: point[name] for name in sorted(point)}


# --- running trials ------------------------------------------------------------------------------


class RemoteTrials(Protocol):
    """Runs trials elsewhere (Celery workers); outcomes in the order of ``points``."""

    def run(
        self,
        inputs: BacktestInputs,
        *,
        strategy: str,
        points: Sequence[dict[str, Any]],
        config: dict[str, Any],
        seed: int,
        on_trial: TrialProgress | None = None,
    ) -> list[Outcome]: ...


def remote_trials(settings: Settings) -> RemoteTrials | None:
    """Celery workers when ``settings`` configure a broker; ``None`` means local processes."""
    if settings.resolved_broker_url is None:
        return None
    from edgewatch.jobs.trials import CeleryTrials

    return CeleryTrials(settings)


_worker: dict[str, Any] = {}


def _init_worker(inputs: BacktestInputs, strategy: str, config: dict[str, Any], seed: int) -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides what to cancel.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker.update(inputs=inputs, strategy=strategy, config=config, seed=seed)


def _trial(params: dict[str, Any]) -> Outcome:
    return execute(
        strategy=_worker["strategy"],
        params=params,
        inputs=_worker["inputs"],
        config=config_from_json(_worker["config"]),
        seed=_worker["seed"],
    )


def run_trials(
    inputs: BacktestInputs,
    *,
    strategy: str,
    points: Sequence[dict[str, Any]],
    config: BacktestConfig,
    seed: int,
    workers: int = 1,
    on_trial: TrialProgress | None = None,
    remote: RemoteTrials | None = None,
) -> list[Outcome]:
    """Replay ``inputs`` once per point; outcomes in the order of ``points``.

    With ``remote``, the trials run there and ``workers`` is ignored.
    """
    for point in points:
        create_strategy(strategy, point)  # fail on a bad point before any work
    stored = config_to_json(config)
    total = len(points)
    if remote is not None:
        return remote.run(
            inputs, strategy=strategy, points=points, config=stored, seed=seed, on_trial=on_trial
        )
    if workers <= 1 or total <= 1:
        outcomes = []
        for point in points:
            outcomes.append(
                execute(
                    strategy=strategy,
                    params=point,
                    inputs=inputs,
                    config=config_from_json(stored),
                    seed=seed,
                )
            )
            if on_trial is not None:
                on_trial(len(outcomes), total)
        return outcomes
    pool = ProcessPoolExecutor(
        max_workers=min(workers, total),
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_init_worker,
        initargs=(inputs, strategy, stored, seed),
    )
    futures: list[Future[Outcome]] = []
    try:
        futures = [pool.submit(_trial, point) for point in points]
        results: list[Outcome] = []
        for future in futures:
            results.append(future.result())
            if on_trial is not None:
                on_trial(len(results), total)
        return results
    finally:
        # On Ctrl-C or a failed trial: drop the trials not yet started, wait for the running ones.
        pool.shutdown(wait=True, cancel_futures=True)


def sweep(
    session: Session,
    *,
    strategy: str,
    grid: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    seed: int = 0,
    config: BacktestConfig | None = None,
    random_count: int | None = None,
    workers: int = 1,
    on_trial: TrialProgress | None = None,
    remote: RemoteTrials | None = None,
) -> SweepReport:
    """Run and store one backtest per grid point (or ``random_count`` random points).

    Flushes only. ``InvalidInput`` for a bad grid, strategy or point, or an empty window.
    """
    config = config or BacktestConfig()
    if random_count is None:
        points = grid_points(grid, base=params)
    else:
        points = random_points(grid, random_count, seed=seed, base=params)
    for point in points:
        create_strategy(strategy, point)
    inputs = load_inputs(session, start=start, end=end)
    outcomes = run_trials(
        inputs,
        strategy=strategy,
        points=points,
        config=config,
        seed=seed,
        workers=workers,
        on_trial=on_trial,
        remote=remote,
    )
    sharpes = [
        o.metrics["sharpe_per_period"]
        for o in outcomes
        if o.metrics["sharpe_per_period"] is not None
    ]
    trials: list[SweepTrial] = []
    for point, outcome in zip(points, outcomes, strict=True):
        deflated = (
            compute_metrics(outcome.result, seed=seed, trial_sharpes=sharpes).deflated_sharpe
            if len(sharpes) >= 2
            else math.nan
        )
        run = new_run(
            session,
            strategy=strategy,
            params=point,
            start=inputs.start,
            end=inputs.end,
            seed=seed,
            config=config,
            status="running",
        )
        store_outcome(session, run, inputs, outcome)
        kept = None if math.isnan(deflated) else deflated
        run.summary = {**(run.summary or {}), "sweep_trials": len(points), "deflated_sharpe": kept}
        trials.append(SweepTrial(point, run.id, run.metrics, kept))
    session.flush()
    return SweepReport(strategy=strategy, start=inputs.start, end=inputs.end, trials=trials)


# --- walk-forward --------------------------------------------------------------------------------


def walk_forward_windows(
    start: datetime, end: datetime, *, train: timedelta, test: timedelta
) -> list[tuple[datetime, datetime, datetime]]:
    """(train start, test start, test end) of each rolling window that fits in ``[start, end]``."""
    if train <= timedelta(0) or test <= timedelta(0):
        raise InvalidInput("train and test durations must be positive")
    folds = (end - start - train) // test
    if folds > MAX_FOLDS:
        raise InvalidInput(
            f"a test window of {test} makes {folds:,} walk-forward windows; at most "
            f"{MAX_FOLDS:,} are allowed: use a longer test window"
        )
    windows = []
    at = start
    while at + train + test <= end:
        windows.append((at, at + train, at + train + test))
        at += test
    if not windows:
        raise InvalidInput(
            f"the data window ({end - start}) is shorter than one train + test window "
            f"({train + test})"
        )
    return windows


def _score(metrics: Mapping[str, Any], objective: str) -> float:
    value = metrics.get(objective)
    if value is None:
        return -math.inf
    try:
        return float(value)
    except (TypeError, ValueError):
        return -math.inf


def walk_forward(
    session: Session,
    *,
    strategy: str,
    train: timedelta,
    test: timedelta,
    params: Mapping[str, Any] | None = None,
    grid: Mapping[str, Any] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    seed: int = 0,
    config: BacktestConfig | None = None,
    objective: str = "sharpe",
    workers: int = 1,
    remote: RemoteTrials | None = None,
) -> WalkForwardReport:
    """Rolling train/test windows; stores and reports the test (out-of-sample) runs only."""
    config = config or BacktestConfig()
    base = dict(params or {})
    create_strategy(strategy, base)
    points = grid_points(grid, base=base) if grid else [base]
    if objective not in OBJECTIVES:
        raise InvalidInput(
            f"unknown objective {objective!r}; allowed: {', '.join(sorted(OBJECTIVES))}"
        )
    whole = load_inputs(session, start=start, end=end)
    windows: list[WalkForwardWindow] = []
    for train_start, test_start, test_end in walk_forward_windows(
        whole.start, whole.end, train=train, test=test
    ):
        chosen = points[0]
        if len(points) > 1:
            try:
                train_inputs = load_inputs(
                    session, start=train_start, end=test_start - timedelta(microseconds=1)
                )
            except InvalidInput:
                train_inputs = None
            if train_inputs is not None:
                outcomes = run_trials(
                    train_inputs,
                    strategy=strategy,
                    points=points,
                    config=config,
                    seed=seed,
                    workers=workers,
                    remote=remote,
                )
                scores = [_score(o.metrics, objective) for o in outcomes]
                chosen = points[scores.index(max(scores))]
        try:
            test_inputs = load_inputs(session, start=test_start, end=test_end)
        except InvalidInput:
            windows.append(
                WalkForwardWindow(train_start, test_start, test_start, test_end, chosen, None, None)
            )
            continue
        outcome = execute(
            strategy=strategy, params=chosen, inputs=test_inputs, config=config, seed=seed
        )
        run = new_run(
            session,
            strategy=strategy,
            params=chosen,
            start=test_start,
            end=test_end,
            seed=seed,
            config=config,
            status="running",
        )
        store_outcome(session, run, test_inputs, outcome)
        run.summary = {
            **(run.summary or {}),
            "walk_forward": {"train_start": train_start.isoformat(), "objective": objective},
        }
        windows.append(
            WalkForwardWindow(
                train_start, test_start, test_start, test_end, chosen, run.id, run.metrics
            )
        )
    session.flush()
    return WalkForwardReport(strategy=strategy, objective=objective, windows=windows)


#: Metrics a walk-forward may select parameters by (higher is better).
OBJECTIVES = frozenset(
    {
        "pnl",
        "return_on_capital",
        "annualised_return",
        "sharpe",
        "sortino",
        "calmar",
        "probabilistic_sharpe",
        "sharpe_per_period",
        "win_rate",
        "profit_factor",
        "expectancy",
        "brier_advantage",
    }
)
