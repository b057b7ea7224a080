"""Performance and forecast-quality metrics of a backtest; formulas in docs/backtesting.md.

Every function is pure and deterministic (the bootstrap takes a seed). Ratios that are undefined
for the data (a Sharpe ratio of one return, a profit factor without losses) are ``nan``, never a
made-up number; ``Metrics.to_dict`` turns them into ``None`` for JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from edgewatch.backtest.records import BacktestResult
from edgewatch.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
YEAR = timedelta(days=365.25)
EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def _array(values: Sequence[float] | FloatArray) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def simple_returns(equity: Sequence[float] | FloatArray) -> FloatArray:
    """Period returns ``e[i] / e[i−1] − 1`` of an equity curve."""
    e = _array(equity)
    if len(e) < 2:
        return np.empty(0)
    if np.any(e[:-1] <= 0):
        raise InvalidInput("equity must stay positive to compute returns")
    return e[1:] / e[:-1] - 1.0


def sharpe_ratio(returns: Sequence[float] | FloatArray, *, periods_per_year: float = 1.0) -> float:
    """Mean over sample standard deviation of period returns, times √periods_per_year."""
    r = _array(returns)
    if len(r) < 2:
        return math.nan
    sd = float(np.std(r, ddof=1))
    return math.nan if sd == 0 else float(np.mean(r)) / sd * math.sqrt(periods_per_year)


def sortino_ratio(returns: Sequence[float] | FloatArray, *, periods_per_year: float = 1.0) -> float:
    """Mean return over downside deviation ``√mean(min(r, 0)²)``, times √periods_per_year."""
    r = _array(returns)
    if len(r) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return math.nan if downside == 0 else float(np.mean(r)) / downside * math.sqrt(periods_per_year)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """Largest peak-to-trough fall: ``depth`` as a fraction of the peak, ``amount`` in dollars.

    ``duration`` is the longest time spent below a previous peak (peak to recovery, or to the
    end of the curve if it never recovers).
    """

    depth: float
    amount: float
    peak_at: datetime | None
    trough_at: datetime | None
    duration: timedelta


def max_drawdown(equity: Sequence[float] | FloatArray, times: Sequence[datetime]) -> Drawdown:
    e = _array(equity)
    if len(e) == 0:
        return Drawdown(0.0, 0.0, None, None, timedelta(0))
    peaks = np.maximum.accumulate(e)
    falls = peaks - e
    depths = np.divide(falls, peaks, out=np.zeros_like(e), where=peaks > 0)
    trough = int(np.argmax(depths))
    peak = int(np.flatnonzero(e[: trough + 1] == peaks[trough])[0])
    longest = timedelta(0)
    since: int | None = None
    for i in range(len(e)):
        if e[i] < peaks[i]:
            since = i - 1 if since is None else since
        elif since is not None:
            longest = max(longest, times[i] - times[since])
            since = None
    if since is not None:
        longest = max(longest, times[-1] - times[since])
    if falls[trough] == 0:
        return Drawdown(0.0, 0.0, None, None, longest)
    return Drawdown(
        float(depths[trough]), float(falls[trough]), times[peak], times[trough], longest
    )


def annualised_return(start_equity: float, end_equity: float, span: timedelta) -> float:
    """Compound annual growth ``(end / start)^(year / span) − 1``; ``inf`` if it overflows."""
    if span <= timedelta(0) or start_equity <= 0 or end_equity <= 0:
        return math.nan
    exponent = math.log(end_equity / start_equity) * (YEAR / span)
    return math.inf if exponent > 700 else math.expm1(exponent)


def calmar_ratio(annual_return: float, drawdown: float) -> float:
    return math.nan if drawdown <= 0 or math.isnan(annual_return) else annual_return / drawdown


@dataclass(frozen=True, slots=True)
class TradeStatistics:
    trades: int
    win_rate: float
    profit_factor: float
    expectancy: float


def trade_statistics(pnls: Sequence[float] | FloatArray) -> TradeStatistics:
    """Win rate (P&L > 0), profit factor (gains / |losses|) and mean P&L per trade."""
    p = _array(pnls)
    if len(p) == 0:
        return TradeStatistics(0, math.nan, math.nan, math.nan)
    gains = float(p[p > 0].sum())
    losses = float(-p[p < 0].sum())
    factor = math.nan if losses == 0 else gains / losses
    return TradeStatistics(len(p), float(np.mean(p > 0)), factor, float(np.mean(p)))


def brier_score(
    probabilities: Sequence[float] | FloatArray, outcomes: Sequence[float] | FloatArray
) -> float:
    """Mean squared error of probabilities against 0/1 outcomes (lower is better)."""
    p, y = _array(probabilities), _array(outcomes)
    return math.nan if len(p) == 0 else float(np.mean((p - y) ** 2))


def log_loss(
    probabilities: Sequence[float] | FloatArray,
    outcomes: Sequence[float] | FloatArray,
    *,
    eps: float = 1e-15,
) -> float:
    """Mean negative log likelihood, probabilities clipped to [eps, 1 − eps]."""
    p, y = np.clip(_array(probabilities), eps, 1 - eps), _array(outcomes)
    if len(p) == 0:
        return math.nan
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier_advantage(
    probabilities: Sequence[float] | FloatArray,
    market_probabilities: Sequence[float] | FloatArray,
    outcomes: Sequence[float] | FloatArray,
) -> float:
    """Brier score of the market's prices minus the strategy's: positive means the strategy wins."""
    return brier_score(market_probabilities, outcomes) - brier_score(probabilities, outcomes)


def calibration_table(
    probabilities: Sequence[float] | FloatArray,
    outcomes: Sequence[float] | FloatArray,
    *,
    bins: int = 10,
) -> pl.DataFrame:
    """Forecasts grouped in ``bins`` equal-width bins of [0, 1] (1.0 falls in the last bin)."""
    p, y = _array(probabilities), _array(outcomes)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        rows.append(
            {
                "bin_low": b / bins,
                "bin_high": (b + 1) / bins,
                "count": count,
                "mean_probability": float(p[mask].mean()) if count else None,
                "observed_frequency": float(y[mask].mean()) if count else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "bin_low": pl.Float64,
            "bin_high": pl.Float64,
            "count": pl.Int64,
            "mean_probability": pl.Float64,
            "observed_frequency": pl.Float64,
        },
    )


def bootstrap_interval(
    values: Sequence[float] | FloatArray,
    *,
    statistic: Callable[[FloatArray], FloatArray] = lambda sample: sample.sum(axis=1),
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` (by default the total) over ``values``.

    ``statistic`` maps a (resamples × n) array to one value per row. Deterministic for a seed.
    """
    v = _array(values)
    if len(v) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    samples = v[rng.integers(0, len(v), size=(resamples, len(v)))]
    stats = statistic(samples)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return float(low), float(high)


def _moments(r: FloatArray) -> tuple[float, float, float]:
    """Per-period Sharpe ratio, skewness and (non-excess) kurtosis of returns."""
    sd = float(np.std(r, ddof=1))
    centred = r - r.mean()
    m2 = float(np.mean(centred**2))
    skew = float(np.mean(centred**3)) / m2**1.5 if m2 > 0 else 0.0
    kurt = float(np.mean(centred**4)) / m2**2 if m2 > 0 else 3.0
    return (float(r.mean()) / sd if sd > 0 else math.nan), skew, kurt


def probabilistic_sharpe_ratio(
    returns: Sequence[float] | FloatArray, *, benchmark: float = 0.0
) -> float:
    """P(true Sharpe per period > ``benchmark``) given skew and fat tails."""
    r = _array(returns)
    if len(r) < 3:
        return math.nan
    sr, skew, kurt = _moments(r)
    if math.isnan(sr):
        return math.nan
    variance = 1 - skew * sr + (kurt - 1) / 4 * sr**2
    if variance <= 0:
        return math.nan
    return _NORMAL.cdf((sr - benchmark) * math.sqrt(len(r) - 1) / math.sqrt(variance))


def expected_max_sharpe(trial_sharpes: Sequence[float]) -> float:
    """Expected largest of N per-period Sharpe ratios if every trial's true Sharpe were zero."""
    s = _array(trial_sharpes)
    n = len(s)
    if n < 2:
        return 0.0
    spread = math.sqrt(float(np.var(s, ddof=1)))
    return spread * (
        (1 - EULER_GAMMA) * _NORMAL.inv_cdf(1 - 1 / n)
        + EULER_GAMMA * _NORMAL.inv_cdf(1 - 1 / (n * math.e))
    )


def deflated_sharpe_ratio(
    returns: Sequence[float] | FloatArray, *, trial_sharpes: Sequence[float]
) -> float:
    """PSR against the best Sharpe that luck alone gives across a sweep's trials (per period)."""
    return probabilistic_sharpe_ratio(returns, benchmark=expected_max_sharpe(trial_sharpes))


def per_period_sharpe(returns: Sequence[float] | FloatArray) -> float:
    """The un-annualised Sharpe ratio, the unit the sweep statistics work in."""
    return sharpe_ratio(returns, periods_per_year=1.0)


@dataclass(frozen=True, slots=True)
class Metrics:
    pnl: Decimal
    return_on_capital: float
    annualised_return: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_amount: float
    max_drawdown_duration_seconds: float
    probabilistic_sharpe: float
    #: Un-annualised Sharpe ratio: what a sweep collects from each trial for ``deflated_sharpe``.
    sharpe_per_period: float
    #: ``nan`` unless ``trial_sharpes`` were given (sweeps).
    deflated_sharpe: float
    trades: int
    fills: int
    win_rate: float
    profit_factor: float
    expectancy: float
    pnl_ci_low: float
    pnl_ci_high: float
    turnover: float
    exposure: float
    time_in_market: float
    fees_paid: Decimal
    signals_scored: int
    brier: float
    log_loss: float
    brier_market: float
    brier_advantage: float
    calibration: list[dict[str, Any]]
    unresolved_positions: int
    warnings: list[str]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: money as exact decimal strings, undefined ratios as ``None``."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, Decimal):
                out[key] = str(value)
            elif isinstance(value, float) and not math.isfinite(value):
                out[key] = None
            else:
                out[key] = value
        return out


def compute_metrics(
    result: BacktestResult,
    *,
    seed: int = 0,
    resamples: int = 2000,
    trial_sharpes: Sequence[float] | None = None,
) -> Metrics:
    """Every metric of a run; identical for identical results and seed.

    ``trial_sharpes``: the ``sharpe_per_period`` of every trial of the sweep this run belongs to,
    to deflate its Sharpe ratio for the number of trials.
    """
    equity = result.equity.get_column("equity").to_numpy()
    times = result.equity.get_column("ts").to_list()
    periods_per_year = YEAR / result.config.step
    returns = simple_returns(equity) if len(equity) > 1 and np.all(equity > 0) else np.empty(0)
    start = float(result.starting_cash)
    annual = annualised_return(start, float(result.final_equity), result.end - result.start)
    dd = max_drawdown(np.r_[start, equity], [result.start, *times])
    pnls = [float(t.pnl) for t in result.trades]
    stats = trade_statistics(pnls)
    low, high = bootstrap_interval(pnls, resamples=resamples, seed=seed)
    exposure = result.equity.get_column("exposure").to_numpy()
    scored = [
        s for s in result.signals if s.outcome is not None and s.market_probability is not None
    ]
    p = [s.probability for s in scored]
    market = [s.market_probability or 0.0 for s in scored]
    y = [float(s.outcome or 0) for s in scored]
    table = calibration_table(p, y) if scored else calibration_table([], [])
    return Metrics(
        pnl=result.pnl,
        return_on_capital=float(result.pnl / result.starting_cash)
        if result.starting_cash
        else math.nan,
        annualised_return=annual,
        sharpe=sharpe_ratio(returns, periods_per_year=periods_per_year),
        sortino=sortino_ratio(returns, periods_per_year=periods_per_year),
        calmar=calmar_ratio(annual, dd.depth),
        max_drawdown=dd.depth,
        max_drawdown_amount=dd.amount,
        max_drawdown_duration_seconds=dd.duration.total_seconds(),
        probabilistic_sharpe=probabilistic_sharpe_ratio(returns),
        sharpe_per_period=per_period_sharpe(returns),
        deflated_sharpe=math.nan
        if trial_sharpes is None
        else deflated_sharpe_ratio(returns, trial_sharpes=trial_sharpes),
        trades=stats.trades,
        fills=len(result.fills),
        win_rate=stats.win_rate,
        profit_factor=stats.profit_factor,
        expectancy=stats.expectancy,
        pnl_ci_low=low,
        pnl_ci_high=high,
        turnover=float(result.turnover / result.starting_cash)
        if result.starting_cash
        else math.nan,
        exposure=float(
            np.mean(np.divide(exposure, equity, out=np.zeros_like(exposure), where=equity > 0))
        )
        if len(equity)
        else 0.0,
        time_in_market=float(np.mean(exposure > 0)) if len(exposure) else 0.0,
        fees_paid=result.fees_paid,
        signals_scored=len(scored),
        brier=brier_score(p, y),
        log_loss=log_loss(p, y),
        brier_market=brier_score(market, y),
        brier_advantage=brier_advantage(p, market, y) if scored else math.nan,
        calibration=table.to_dicts(),
        unresolved_positions=len(result.unresolved),
        warnings=list(result.warnings),
        seed=seed,
    )
