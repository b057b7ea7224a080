"""``/backtests``: stored runs, a form to start one, live progress, results, and comparison.

Starting a run from the form goes through the API's own ``POST /api/v1/backtests`` handler
(same validation, same queue, same background task), so the two can never disagree. Equity
curves are thinned in the database to ``MAX_CURVE_POINTS``; the ledger is paged by sequence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import MAX_ID
from edgewatch.backtest import repository, service
from edgewatch.backtest.router import create_backtest
from edgewatch.backtest.schemas import BacktestCreate
from edgewatch.dashboard import forms
from edgewatch.dashboard.cache import live_cache
from edgewatch.dashboard.charts import compare_chart, equity_chart
from edgewatch.dashboard.routing import DashboardRoute, url_with
from edgewatch.dashboard.templating import render
from edgewatch.dashboard.viewer import viewer_of
from edgewatch.errors import InvalidInput
from edgewatch.models.backtest import RUN_STATUSES, BacktestRun
from edgewatch.strategies.registry import parameters, strategy_names

router = APIRouter(route_class=DashboardRoute)

PAGE_SIZE = 25
TRADES_PAGE_SIZE = 50
MAX_CURVE_POINTS = 1_500
#: How long a finished run's thinned curve is reused (it cannot change; this bounds memory).
FINISHED_CURVE_TTL_SECONDS = 600.0
FINISHED = ("succeeded", "failed", "cancelled")
#: The progress fragment is fetched this often while a run is queued or running.
PROGRESS_POLL_SECONDS = 1
Text = Annotated[str | None, Query(max_length=300)]
RunId = Annotated[int, Path(ge=1, le=MAX_ID)]
FormText = Annotated[str | None, Form(max_length=4000)]


@dataclass(frozen=True, slots=True)
class MetricRow:
    key: str
    label: str
    #: Template filter used to show it: money, percent, number or count.
    kind: str
    help: str


METRICS = (
    MetricRow("pnl", "P&L", "money", "final equity minus starting cash"),
    MetricRow("return_on_capital", "Return on capital", "percent", "P&L / starting cash"),
    MetricRow("annualised_return", "Annualised return", "percent", "compounded to a year"),
    MetricRow("sharpe", "Sharpe", "number", "annualised mean / sd of step returns"),
    MetricRow("sortino", "Sortino", "number", "like Sharpe, downside deviation only"),
    MetricRow("max_drawdown", "Max drawdown", "percent", "largest fall from a peak"),
    MetricRow("max_drawdown_amount", "Max drawdown ($)", "money", "the same fall in dollars"),
    MetricRow("calmar", "Calmar", "number", "annualised return / max drawdown"),
    MetricRow("trades", "Round trips", "count", "closed, plus open ones marked at the end"),
    MetricRow("fills", "Fills", "count", "orders filled"),
    MetricRow("win_rate", "Win rate", "percent", "share of round trips with a profit"),
    MetricRow("profit_factor", "Profit factor", "number", "gross profit / gross loss"),
    MetricRow("expectancy", "Expectancy", "money", "mean P&L per round trip"),
    MetricRow("pnl_ci_low", "P&L 95% CI low", "money", "bootstrap over round trips"),
    MetricRow("pnl_ci_high", "P&L 95% CI high", "money", "bootstrap over round trips"),
    MetricRow("fees_paid", "Fees paid", "money", "venue fees on every fill"),
    MetricRow("exposure", "Exposure", "percent", "mean open positions / equity"),
    MetricRow("time_in_market", "Time in market", "percent", "evaluations with a position"),
    MetricRow("turnover", "Turnover", "number", "traded value / starting cash"),
    MetricRow("probabilistic_sharpe", "Probabilistic Sharpe", "percent", "P(true Sharpe > 0)"),
    MetricRow("signals_scored", "Signals scored", "count", "signals on resolved markets"),
    MetricRow("brier", "Brier", "number", "squared error of the signals' probabilities"),
    MetricRow("brier_advantage", "Brier advantage", "number", "market Brier − strategy Brier"),
)


def _parse_params(raw: str | None) -> dict[str, Any]:
    cleaned = forms.text(raw, name="params", max_length=4000)
    if cleaned is None:
        return {}
    try:
        value = json.loads(cleaned)
    except ValueError as exc:
        raise InvalidInput(f"params: not JSON ({exc.args[0]})") from None
    if not isinstance(value, dict):
        raise InvalidInput('params: expected a JSON object such as {"entry_zscore": 2.5}')
    return value


def curve_of(request: Request, session: SessionDep, run: BacktestRun) -> list[Any]:
    """The run's thinned equity curve; a finished run's never changes, so it is kept a while."""
    if run.status not in FINISHED:
        return repository.thinned_equity_curve(session, run.id, max_points=MAX_CURVE_POINTS)
    return live_cache(request).get_or_compute(
        ("equity", run.id),
        lambda: repository.thinned_equity_curve(session, run.id, max_points=MAX_CURVE_POINTS),
        ttl=FINISHED_CURVE_TTL_SECONDS,
    )


def _request_of(
    strategy: str | None,
    params: str | None,
    start: str | None,
    end: str | None,
    seed: str | None,
    settings: dict[str, str | None],
) -> BacktestCreate:
    """The API's request model built from the form; a bad field is one ``InvalidInput`` line."""
    chosen = forms.choice(strategy, name="strategy", allowed=strategy_names())
    if chosen is None:
        raise InvalidInput("strategy: choose a strategy")
    document: dict[str, Any] = {
        "strategy": chosen,
        "params": _parse_params(params),
        "start": forms.moment(start, name="start"),
        "end": forms.moment(end, name="end"),
        "seed": forms.whole_number(seed, name="seed", maximum=2**31 - 1) or 0,
        "settings": {key: value for key, value in settings.items() if value not in (None, "")},
    }
    try:
        return BacktestCreate.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "form"
        raise InvalidInput(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


@router.get("/backtests", summary="Dashboard: backtests (HTML)", response_class=HTMLResponse)
def backtests(
    request: Request,
    session: SessionDep,
    strategy: Text = None,
    status: Text = None,
    cursor: Text = None,
) -> Response:
    chosen_strategy = forms.choice(strategy, name="strategy", allowed=strategy_names())
    chosen_status = forms.choice(status, name="status", allowed=RUN_STATUSES)
    rows, has_more = split_page(
        repository.list_runs(
            session,
            limit=PAGE_SIZE + 1,
            before_id=decode_id_cursor(forms.text(cursor, name="cursor")),
            strategy=chosen_strategy,
            status=chosen_status,
        ),
        PAGE_SIZE,
    )
    return render(
        request,
        "backtests.html",
        {
            "runs": rows,
            "filters": {"strategy": chosen_strategy, "status": chosen_status},
            "filtered": bool(chosen_strategy or chosen_status),
            "strategies": strategy_names(),
            "defaults": {name: parameters(name) for name in strategy_names()},
            "statuses": RUN_STATUSES,
            "next_url": url_with(request, cursor=encode_cursor(rows[-1].id)) if has_more else None,
            "first_url": url_with(request, cursor=None) if cursor else None,
        },
    )


@router.post("/backtests", summary="Dashboard: start a backtest", response_class=HTMLResponse)
def start_backtest(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    strategy: FormText = None,
    params: FormText = None,
    start: FormText = None,
    end: FormText = None,
    seed: FormText = None,
    starting_cash: FormText = None,
    max_position: FormText = None,
    step_seconds: FormText = None,
    slippage: FormText = None,
    min_confidence: FormText = None,
) -> Response:
    viewer_of(request).require("backtests:run")
    body = _request_of(
        strategy,
        params,
        start,
        end,
        seed,
        {
            "starting_cash": starting_cash,
            "max_position": max_position,
            "step_seconds": step_seconds,
            "slippage": slippage,
            "min_confidence": min_confidence,
        },
    )
    queued = create_backtest(body, session, request, background)
    return RedirectResponse(f"/backtests/{queued.run_id}", status_code=303)


@router.get(
    "/backtests/compare",
    summary="Dashboard: compare two backtests (HTML)",
    response_class=HTMLResponse,
)
def compare(request: Request, session: SessionDep, a: Text = None, b: Text = None) -> Response:
    first = forms.whole_number(a, name="a", minimum=1, maximum=MAX_ID)
    second = forms.whole_number(b, name="b", minimum=1, maximum=MAX_ID)
    if first is None or second is None:
        raise InvalidInput("choose two runs to compare (a and b)")
    runs = [service.get_run(session, first), service.get_run(session, second)]
    curves = [(f"#{run.id} {run.strategy}", curve_of(request, session, run)) for run in runs]
    return render(
        request,
        "backtest_compare.html",
        {"runs": runs, "metrics": METRICS, "compare_plot": compare_chart(curves)},
    )


@router.get(
    "/backtests/{run_id}", summary="Dashboard: one backtest (HTML)", response_class=HTMLResponse
)
def backtest(request: Request, session: SessionDep, run_id: RunId, cursor: Text = None) -> Response:
    run = service.get_run(session, run_id)
    trades, has_more = split_page(
        repository.list_trades(
            session,
            run_id,
            limit=TRADES_PAGE_SIZE + 1,
            after_seq=decode_id_cursor(forms.text(cursor, name="cursor")),
        ),
        TRADES_PAGE_SIZE,
    )
    curve, drawdown = equity_chart(curve_of(request, session, run))
    others = [
        other
        for other in repository.list_runs(session, limit=50, status="succeeded")
        if other.id != run_id
    ]
    return render(
        request,
        "backtest.html",
        {
            "run": run,
            "finished": run.status in FINISHED,
            "metrics": METRICS,
            "trades": trades,
            "equity": curve,
            "drawdown": drawdown,
            "others": others,
            "poll_seconds": PROGRESS_POLL_SECONDS,
            "next_url": url_with(request, cursor=encode_cursor(trades[-1].seq))
            if has_more
            else None,
            "first_url": url_with(request, cursor=None) if cursor else None,
        },
    )


@router.get(
    "/backtests/{run_id}/progress",
    summary="Dashboard: a backtest's progress (HTML fragment)",
    response_class=HTMLResponse,
)
def progress(request: Request, session: SessionDep, run_id: RunId) -> Response:
    run = service.get_run(session, run_id)
    # Once the run has finished, htmx reloads the page so the results replace the progress bar.
    headers = {"HX-Refresh": "true"} if run.status in FINISHED else None
    return render(request, "backtest_progress.html", {"run": run}, headers=headers)


@router.post(
    "/backtests/{run_id}/cancel",
    summary="Dashboard: cancel a backtest",
    response_class=HTMLResponse,
)
def cancel(request: Request, session: SessionDep, run_id: RunId) -> Response:
    viewer_of(request).require("backtests:run")
    service.request_cancel(session, run_id)
    return RedirectResponse(f"/backtests/{run_id}", status_code=303)
