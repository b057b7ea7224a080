"""Running a queued backtest in the background (API requests queue them).

``execute_queued_run`` owns its transactions, one per step, and holds none while the engine
runs, so progress updates and a cancel request from the API never wait on it:

1. ``queued`` → ``running`` (or ``cancelled`` if a cancel arrived first);
2. read the window's data; replay it, writing ``progress`` and polling ``cancel_requested``
   from short transactions of their own;
3. store the outcome (``succeeded``), or record ``cancelled`` / ``failed`` with the error.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.backtest.run_config import config_from_json
from edgewatch.backtest.service import (
    BacktestCancelled,
    Hooks,
    ProgressFn,
    execute,
    load_inputs,
    store_outcome,
)
from edgewatch.clock import utcnow
from edgewatch.db.session import session_scope
from edgewatch.errors import InvalidInput
from edgewatch.models.backtest import BacktestRun
from edgewatch.observability.logging import bound_context, get_logger

log = get_logger(__name__)


def execute_queued_run(factory: sessionmaker[Session], run_id: int) -> str:
    """Run queued backtest ``run_id`` to the end; returns its final status. Never raises."""
    with bound_context(backtest_run_id=run_id):
        try:
            return _execute(factory, run_id)
        except BacktestCancelled:
            _finish(factory, run_id, "cancelled", None)
            log.info("backtest_cancelled")
            return "cancelled"
        except InvalidInput as exc:
            log.warning("backtest_refused", error=exc.message)
            _finish(factory, run_id, "failed", f"{type(exc).__name__}: {exc.message}")
            return "failed"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.exception("backtest_failed", error=error)
            _finish(factory, run_id, "failed", error)
            return "failed"


def _execute(factory: sessionmaker[Session], run_id: int) -> str:
    with session_scope(factory) as session:
        run = session.get_one(BacktestRun, run_id)
        if run.status != "queued":
            return run.status
        if run.cancel_requested:
            raise BacktestCancelled("cancelled before it started")
        run.status, run.started_at = "running", utcnow()
        strategy, params, seed = run.strategy, dict(run.params), run.seed
        config = config_from_json(run.config)
        start, end = run.window_start, run.window_end
    with session_scope(factory) as session:
        inputs = load_inputs(session, start=start, end=end)

    def progress(done: float) -> None:
        with session_scope(factory) as session:
            session.execute(
                update(BacktestRun).where(BacktestRun.id == run_id).values(progress=done)
            )

    def cancelled() -> bool:
        with session_scope(factory) as session:
            return bool(
                session.scalar(select(BacktestRun.cancel_requested).where(BacktestRun.id == run_id))
            )

    hooks = Hooks(progress=_throttled(progress, seconds=0.5), cancelled=cancelled)
    outcome = execute(
        strategy=strategy, params=params, inputs=inputs, config=config, seed=seed, hooks=hooks
    )
    with session_scope(factory) as session:
        run = session.get_one(BacktestRun, run_id)
        if run.cancel_requested:
            raise BacktestCancelled("cancelled while running")
        store_outcome(session, run, inputs, outcome)
    log.info("backtest_finished", pnl=outcome.metrics.get("pnl"))
    return "succeeded"


def _throttled(write: ProgressFn, *, seconds: float) -> ProgressFn:
    """``write`` at most every ``seconds`` of wall time, and always for the end (1.0)."""
    last = -math.inf

    def report(done: float) -> None:
        nonlocal last
        now = time.monotonic()
        if done >= 1.0 or now - last >= seconds:
            last = now
            write(done)

    return report


def _finish(factory: sessionmaker[Session], run_id: int, status: str, error: str | None) -> None:
    with session_scope(factory) as session:
        run = session.get(BacktestRun, run_id)
        if run is None:
            return
        run.status, run.error, run.finished_at = status, error, utcnow()
