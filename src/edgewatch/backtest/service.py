"""Stored backtest runs: read the data from the database, replay it, record everything.

The pure engine (``engine.run_backtest``) does the replay; this module is its edge. A run reads
the ticks of its window, the markets that have ticks in it, the confirmed links between them and
the resolution table (markets that have resolved, with their outcome and time: the engine alone
reads it, and only at ``resolved_at``). It stores the metrics (``compute_metrics(...).to_dict()``),
the ledger (``backtest_trades``) and the equity curve (``backtest_equity``) with everything needed
to replay it: strategy name, parameters and version, engine configuration, window, seed, feature-set
and code versions, and a fingerprint of the data read.

Services flush and never commit; the caller (CLI command, API request, background task) owns the
transaction. ``execute`` is the pure middle step, so the background task and the sweep can hold no
transaction while the engine runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from edgewatch.backtest import repository
from edgewatch.backtest.engine import run_backtest
from edgewatch.backtest.metrics import compute_metrics
from edgewatch.backtest.records import BacktestConfig, BacktestResult, Resolution
from edgewatch.backtest.run_config import code_version, config_from_json, config_to_json
from edgewatch.clock import utcnow
from edgewatch.errors import Conflict, EdgewatchError, InvalidInput, NotFound
from edgewatch.features import FEATURE_SET_VERSION
from edgewatch.models.backtest import BacktestRun
from edgewatch.quality.checks import find_gaps
from edgewatch.strategies.base import LinkInfo, MarketInfo, ProposedSignal, Strategy
from edgewatch.strategies.registry import create_strategy

#: Called with the share of the simulated window replayed so far (0 to 1).
ProgressFn = Callable[[float], None]


class BacktestCancelled(EdgewatchError):
    """The run was cancelled before it finished; nothing of it was stored."""

    status_code = 409
    code = "backtest-cancelled"


@dataclass(frozen=True)
class BacktestInputs:
    """Everything a replay reads from the database, for one window. Picklable (for sweeps)."""

    start: datetime
    end: datetime
    ticks: pl.DataFrame
    markets: dict[int, MarketInfo]
    resolutions: tuple[Resolution, ...]
    links: tuple[LinkInfo, ...]
    fingerprint: str


@dataclass(frozen=True)
class Outcome:
    """A finished replay: the engine's result and its metrics as stored."""

    result: BacktestResult
    metrics: dict[str, Any]


@dataclass
class Hooks:
    """Progress reporting and cancellation for a replay in progress."""

    progress: ProgressFn | None = None
    #: Polled at most every ``poll_seconds``; returning True cancels the run.
    cancelled: Callable[[], bool] | None = None
    poll_seconds: float = 0.5
    _last_poll: float = field(default=0.0, repr=False)

    def check(self) -> None:
        if self.cancelled is None:
            return
        now = time.monotonic()
        if now - self._last_poll < self.poll_seconds:
            return
        self._last_poll = now
        if self.cancelled():
            raise BacktestCancelled("the backtest was cancelled")


# --- reading the data ----------------------------------------------------------------------------


def load_inputs(
    session: Session, *, start: datetime | None = None, end: datetime | None = None
) -> BacktestInputs:
    """The data of the window ``[start, end]`` (default: every stored tick).

    ``InvalidInput`` if there are no ticks in the window.
    """
    if start is None or end is None:
        first, last = repository.tick_range(session)
        if first is None or last is None:
            raise InvalidInput("no ticks are stored: ingest some data first")
        if (start is not None and start > last) or (end is not None and end < first):
            raise InvalidInput(
                f"no ticks in the window: stored ticks run from {first.isoformat()} "
                f"to {last.isoformat()}"
            )
        start = start or first
        end = end or last
    if end < start:
        raise InvalidInput("the window ends before it starts")
    markets = repository.markets_with_ticks(session, start=start, end=end)
    ticks = repository.window_ticks(session, sorted(markets), start=start, end=end)
    if ticks.is_empty():
        raise InvalidInput(
            f"no ticks between {start.isoformat()} and {end.isoformat()}: nothing to replay"
        )
    links = repository.confirmed_links_between(session, markets, start=start)
    resolutions = repository.resolutions(session, sorted(markets))
    return BacktestInputs(
        start=start,
        end=end,
        ticks=ticks,
        markets=markets,
        resolutions=tuple(resolutions),
        links=tuple(links),
        fingerprint=fingerprint(ticks, markets, resolutions, links),
    )


def fingerprint(
    ticks: pl.DataFrame,
    markets: Mapping[int, MarketInfo],
    resolutions: Sequence[Resolution],
    links: Sequence[LinkInfo],
) -> str:
    """SHA-256 of what a replay reads: equal data, equal fingerprint."""
    digest = hashlib.sha256()
    row_hashes = ticks.hash_rows(seed=1, seed_1=2, seed_2=3, seed_3=4)
    digest.update(f"{ticks.height}:{row_hashes.sum()}".encode())
    for market_id in sorted(markets):
        digest.update(repr(markets[market_id]).encode())
    for res in sorted(resolutions, key=lambda r: r.market_id):
        digest.update(f"{res.market_id}:{res.resolution}:{res.resolved_at.isoformat()}".encode())
    for link in sorted(links, key=lambda item: (item.market_a, item.market_b)):
        digest.update(repr(link).encode())
    return digest.hexdigest()


# --- running -------------------------------------------------------------------------------------


class _Observed:
    """A strategy wrapper reporting simulated-time progress and honouring cancellation."""

    def __init__(self, inner: Strategy, inputs: BacktestInputs, hooks: Hooks) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.hooks = hooks
        self.start = inputs.start
        self.span = max((inputs.end - inputs.start).total_seconds(), 1e-6)

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        self.hooks.check()
        if self.hooks.progress is not None:
            newest = ticks.get_column("tick_ts").max()
            if isinstance(newest, datetime):
                done = (newest - self.start).total_seconds() / self.span
                self.hooks.progress(min(max(done, 0.0), 1.0))
        return self.inner.evaluate(ticks, markets=markets, links=links, since=since)


def execute(
    *,
    strategy: str,
    params: Mapping[str, Any],
    inputs: BacktestInputs,
    config: BacktestConfig,
    seed: int,
    hooks: Hooks | None = None,
) -> Outcome:
    """Replay ``inputs`` through the strategy; pure apart from the hooks.

    ``config.start``/``config.end`` are replaced by the inputs' window. Raises ``InvalidInput`` for
    an unknown strategy or bad parameters, ``BacktestCancelled`` if the hooks cancel it.
    """
    built: Strategy = create_strategy(strategy, params)
    if hooks is not None:
        built = _Observed(built, inputs, hooks)
    windowed = _with_window(config, inputs.start, inputs.end)
    result = run_backtest(
        built,
        inputs.ticks,
        markets=inputs.markets,
        resolutions=inputs.resolutions,
        links=inputs.links,
        config=windowed,
    )
    if hooks is not None and hooks.progress is not None:
        hooks.progress(1.0)
    return Outcome(result=result, metrics=compute_metrics(result, seed=seed).to_dict())


def _with_window(config: BacktestConfig, start: datetime, end: datetime) -> BacktestConfig:
    stored = config_to_json(config)
    return config_from_json(stored, start=start, end=end)


def new_run(
    session: Session,
    *,
    strategy: str,
    params: Mapping[str, Any] | None = None,
    start: datetime | None,
    end: datetime | None,
    seed: int = 0,
    config: BacktestConfig | None = None,
    status: str = "queued",
    rerun_of: int | None = None,
) -> BacktestRun:
    """Add a run record after checking the strategy and its parameters (``InvalidInput``)."""
    params = dict(params or {})
    built = create_strategy(strategy, params)
    if start is not None and end is not None and end < start:
        raise InvalidInput("the window ends before it starts")
    run = BacktestRun(
        strategy=strategy,
        params=params,
        strategy_version=built.version,
        feature_set_version=FEATURE_SET_VERSION,
        window_start=start,
        window_end=end,
        status=status,
        seed=seed,
        code_version=code_version(),
        config=config_to_json(config or BacktestConfig()),
        rerun_of=rerun_of,
        started_at=utcnow() if status == "running" else None,
    )
    session.add(run)
    session.flush()
    return run


#: Data gaps named one by one in a run's warnings; any more are counted in one line.
MAX_GAP_WARNINGS = 10


@dataclass(frozen=True)
class GapReport:
    count: int
    lines: list[str]


def gap_warnings(inputs: BacktestInputs) -> GapReport:
    """The replayed window's data gaps (``quality.checks.find_gaps``), as report warnings.

    A strategy saw no quotes inside a gap, so what it did around one is weaker evidence; the
    report says where they are rather than letting a smooth equity curve hide them.
    """
    gaps = find_gaps(inputs.ticks)
    lines = [
        f"data gap: market {row['market_id']} ({inputs.markets[row['market_id']].venue}) had no "
        f"tick from {row['start_ts'].isoformat()} to {row['end_ts'].isoformat()} "
        f"({row['value']:.0f} s)"
        if row["market_id"] in inputs.markets
        else f"data gap: market {row['market_id']} had no tick for {row['value']:.0f} s"
        for row in gaps.head(MAX_GAP_WARNINGS).iter_rows(named=True)
    ]
    if gaps.height > MAX_GAP_WARNINGS:
        lines.append(f"data gaps: {gaps.height - MAX_GAP_WARNINGS} more in the window")
    return GapReport(count=gaps.height, lines=lines)


def store_outcome(
    session: Session, run: BacktestRun, inputs: BacktestInputs, outcome: Outcome
) -> BacktestRun:
    """Record a finished replay on ``run``: metrics, ledger, equity curve, status ``succeeded``."""
    result = outcome.result
    run.window_start, run.window_end = inputs.start, inputs.end
    run.metrics = outcome.metrics
    run.strategy_version = result.strategy_version
    run.data_fingerprint = inputs.fingerprint
    gaps = gap_warnings(inputs)
    run.warnings = [*result.warnings, *gaps.lines, *(run.warnings or [])]
    rejections: dict[str, int] = {}
    for rejection in result.rejections:
        rejections[rejection.reason] = rejections.get(rejection.reason, 0) + 1
    run.summary = {
        "ticks": result.ticks,
        "evaluations": result.evaluations,
        "markets": len(inputs.markets),
        "signals": len(result.signals),
        "fills": len(result.fills),
        "settlements": len(result.settlements),
        "rejections": dict(sorted(rejections.items())),
        "final_cash": str(result.final_cash),
        "final_equity": str(result.final_equity),
        "data_gaps": gaps.count,
    }
    repository.add_ledger(session, run.id, result)
    repository.add_equity(session, run.id, result.equity)
    run.status = "succeeded"
    run.progress = 1.0
    run.error = None
    run.finished_at = utcnow()
    session.flush()
    # The metrics of record are the stored ones: JSONB writes floats past 1e16 as integers.
    session.refresh(run, ["metrics"])
    return run


def run_and_store(
    session: Session,
    *,
    strategy: str,
    params: Mapping[str, Any] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    seed: int = 0,
    config: BacktestConfig | None = None,
    hooks: Hooks | None = None,
) -> BacktestRun:
    """Run a backtest over the stored data of ``[start, end]`` and record it; flushes only.

    Raises ``InvalidInput`` (unknown strategy, bad parameters, no ticks in the window) and
    ``BacktestCancelled``; either way the caller's transaction should be rolled back.
    """
    config = config or BacktestConfig()
    run = new_run(
        session,
        strategy=strategy,
        params=params,
        start=start,
        end=end,
        seed=seed,
        config=config,
        status="running",
    )
    inputs = load_inputs(session, start=start, end=end)
    outcome = execute(
        strategy=strategy, params=run.params, inputs=inputs, config=config, seed=seed, hooks=hooks
    )
    return store_outcome(session, run, inputs, outcome)


def get_run(session: Session, run_id: int) -> BacktestRun:
    run = session.get(BacktestRun, run_id)
    if run is None:
        raise NotFound(f"no backtest run {run_id}")
    return run


def rerun(session: Session, run_id: int, *, hooks: Hooks | None = None) -> BacktestRun:
    """Replay run ``run_id`` with its stored strategy, parameters, window, config and seed.

    The new run records ``rerun_of``; a warning says so if the stored data or the strategy
    version changed since (the metrics may then differ). ``Conflict`` if the run has not
    succeeded (it has no fixed window to replay).
    """
    original = get_run(session, run_id)
    if original.status != "succeeded":
        raise Conflict(f"backtest run {run_id} is {original.status}; only finished runs rerun")
    config = config_from_json(original.config)
    run = new_run(
        session,
        strategy=original.strategy,
        params=original.params,
        start=original.window_start,
        end=original.window_end,
        seed=original.seed,
        config=config,
        status="running",
        rerun_of=original.id,
    )
    inputs = load_inputs(session, start=original.window_start, end=original.window_end)
    notes: list[str] = []
    if original.data_fingerprint and inputs.fingerprint != original.data_fingerprint:
        notes.append(f"the stored data of the window changed since run {original.id}")
    if original.strategy_version and run.strategy_version != original.strategy_version:
        notes.append(
            f"strategy version {run.strategy_version} differs from run {original.id}'s "
            f"{original.strategy_version}"
        )
    run.warnings = notes
    outcome = execute(
        strategy=run.strategy,
        params=run.params,
        inputs=inputs,
        config=config,
        seed=run.seed,
        hooks=hooks,
    )
    return store_outcome(session, run, inputs, outcome)


def request_cancel(session: Session, run_id: int) -> BacktestRun:
    """Ask a queued or running run to stop: a queued one is cancelled at once.

    ``Conflict`` if it has already finished.
    """
    run = get_run(session, run_id)
    if run.status not in ("queued", "running"):
        raise Conflict(f"backtest run {run_id} has already {run.status}")
    run.cancel_requested = True
    if run.status == "queued":
        run.status = "cancelled"
        run.finished_at = utcnow()
    session.flush()
    return run


def metrics_json(run: BacktestRun) -> str:
    """The run as the CLI's ``--json`` prints it."""
    return json.dumps(run_document(run), sort_keys=True)


def run_document(run: BacktestRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "strategy": run.strategy,
        "params": run.params,
        "status": run.status,
        "window_start": run.window_start.isoformat() if run.window_start else None,
        "window_end": run.window_end.isoformat() if run.window_end else None,
        "seed": run.seed,
        "metrics": run.metrics,
        "warnings": run.warnings or [],
    }
