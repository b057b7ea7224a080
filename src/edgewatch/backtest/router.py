"""``/api/v1/backtests``: queue backtests, follow them, read their trades and equity curves.

``POST`` validates the request (strategy, parameters, settings, window), records a ``queued`` run
in the request's transaction and answers 202 with its id; the replay then runs as a background
task with sessions of its own (``tasks.execute_queued_run``). Poll ``GET /{id}`` for ``status``
and ``progress``; ``POST /{id}/cancel`` stops it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import CursorParam, Page, decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import MAX_ID, text_filter
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.backtest import repository, service
from edgewatch.backtest.schemas import (
    BacktestCreate,
    BacktestQueued,
    BacktestRunDetail,
    BacktestRunOut,
    BacktestTradeOut,
    EquityCurve,
    EquityPoint,
    RunStatus,
)
from edgewatch.backtest.tasks import execute_queued_run
from edgewatch.clock import as_utc

router = APIRouter(route_class=ApiRoute, prefix=f"{API_V1_PREFIX}/backtests", tags=["backtests"])

RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="Backtest run id.")]


@router.post(
    "",
    status_code=202,
    summary="Queue a backtest",
    responses=problem_responses(422),
)
def create_backtest(
    body: BacktestCreate,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> BacktestQueued:
    """Validate and queue a backtest; it runs in the background. Answers with the run id."""
    run = service.new_run(
        session,
        strategy=body.strategy,
        params=body.params,
        start=as_utc(body.start) if body.start else None,
        end=as_utc(body.end) if body.end else None,
        seed=body.seed,
        config=body.settings.to_config(),
        status="queued",
    )
    factory: sessionmaker[Session] = request.app.state.session_factory
    # Background tasks start after the response, by which time the request's session committed.
    background.add_task(execute_queued_run, factory, run.id)
    return BacktestQueued(run_id=run.id, status="queued")


@router.get("", summary="List backtest runs, newest first", responses=problem_responses(422))
def list_backtests(
    session: SessionDep,
    strategy: Annotated[
        str | None, text_filter(max_length=64, description="Only this strategy.")
    ] = None,
    status: Annotated[RunStatus | None, Query(description="Only runs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[BacktestRunOut]:
    rows, has_more = split_page(
        repository.list_runs(
            session,
            limit=limit + 1,
            before_id=decode_id_cursor(cursor),
            strategy=strategy,
            status=status,
        ),
        limit,
    )
    return Page(
        items=[BacktestRunOut.from_run(run) for run in rows],
        next_cursor=encode_cursor(rows[-1].id) if has_more else None,
    )


@router.get("/{run_id}", summary="One backtest run", responses=problem_responses(404, 422))
def get_backtest(run_id: RunId, session: SessionDep) -> BacktestRunDetail:
    return BacktestRunDetail.from_run(service.get_run(session, run_id))


@router.get(
    "/{run_id}/trades",
    summary="A backtest's ledger: fills, settlements and end-of-window marks, in order",
    responses=problem_responses(404, 422),
)
def list_backtest_trades(
    run_id: RunId,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: CursorParam = None,
) -> Page[BacktestTradeOut]:
    service.get_run(session, run_id)
    rows, has_more = split_page(
        repository.list_trades(
            session, run_id, limit=limit + 1, after_seq=decode_id_cursor(cursor)
        ),
        limit,
    )
    return Page(
        items=[BacktestTradeOut.from_row(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].seq) if has_more else None,
    )


@router.get(
    "/{run_id}/equity",
    summary="A backtest's equity curve",
    responses=problem_responses(404, 422),
)
def get_backtest_equity(
    run_id: RunId,
    session: SessionDep,
    max_points: Annotated[int, Query(ge=2, le=100_000)] = 2_000,
) -> EquityCurve:
    """One point per evaluation (cash plus open positions at the last mid), evenly thinned."""
    service.get_run(session, run_id)
    rows = repository.equity_curve(session, run_id)
    total = len(rows)
    if total > max_points:
        last = len(rows) - 1
        picks = sorted({round(i * last / (max_points - 1)) for i in range(max_points)})
        rows = [rows[i] for i in picks]
    return EquityCurve(
        run_id=run_id, total_points=total, points=[EquityPoint.from_row(r) for r in rows]
    )


@router.post(
    "/{run_id}/cancel",
    status_code=202,
    summary="Cancel a queued or running backtest",
    responses=problem_responses(404, 409, 422),
)
def cancel_backtest(run_id: RunId, session: SessionDep) -> BacktestRunOut:
    """A queued run is cancelled at once; a running one stops at its next evaluation."""
    return BacktestRunOut.from_run(service.request_cancel(session, run_id))
