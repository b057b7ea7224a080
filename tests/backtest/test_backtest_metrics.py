"""Metrics against hand-computed values, scikit-learn and SciPy."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sklearn_log_loss

from edgewatch.backtest import Resolution, compute_metrics, run_backtest
from edgewatch.backtest.metrics import (
    annualised_return,
    bootstrap_interval,
    brier_advantage,
    brier_score,
    calibration_table,
    calmar_ratio,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    log_loss,
    max_drawdown,
    probabilistic_sharpe_ratio,
    sharpe_ratio,
    simple_returns,
    sortino_ratio,
    trade_statistics,
)

from .support import MARKETS, T0, Scripted, at, config, signal, tick_frame


def test_sharpe_and_sortino_by_hand() -> None:
    # mean 0.0066667; sample sd √(0.0012667 / 2) = 0.0251661; downside √(0.0004 / 3) = 0.011547.
    returns = [0.01, -0.02, 0.03]
    assert sharpe_ratio(returns) == pytest.approx(0.264906, abs=1e-6)
    assert sortino_ratio(returns) == pytest.approx(0.577350, abs=1e-6)
    assert sharpe_ratio(returns, periods_per_year=252) == pytest.approx(
        0.264906 * math.sqrt(252), rel=1e-5
    )
    assert math.isnan(sharpe_ratio([0.01]))
    assert math.isnan(sharpe_ratio([0.01, 0.01]))


def test_max_drawdown_depth_amount_and_duration_by_hand() -> None:
    equity = [100, 110, 99, 105, 121, 115]
    times = [T0 + timedelta(hours=h) for h in range(6)]
    dd = max_drawdown(equity, times)
    assert dd.depth == pytest.approx(0.1)  # 11 / 110
    assert dd.amount == pytest.approx(11.0)
    assert (dd.peak_at, dd.trough_at) == (times[1], times[2])
    assert dd.duration == timedelta(hours=3)  # under 110 from 1 h until 121 at 4 h


def test_drawdown_that_never_recovers_lasts_to_the_end() -> None:
    times = [T0 + timedelta(days=d) for d in range(4)]
    assert max_drawdown([100, 90, 95, 96], times).duration == timedelta(days=3)
    assert max_drawdown([100, 101, 102], times[:3]).depth == 0.0


def test_annualised_return_and_calmar_by_hand() -> None:
    assert annualised_return(100, 121, timedelta(days=365.25 * 2)) == pytest.approx(0.10)
    assert calmar_ratio(0.2, 0.1) == pytest.approx(2.0)
    assert math.isnan(calmar_ratio(0.2, 0.0))


def test_trade_statistics_by_hand() -> None:
    stats = trade_statistics([10, -5, 3, -2])
    assert stats.trades == 4
    assert stats.win_rate == 0.5
    assert stats.profit_factor == pytest.approx(13 / 7)
    assert stats.expectancy == pytest.approx(1.5)


def test_forecast_scores_by_hand() -> None:
    p, market, y = [0.8, 0.3], [0.6, 0.5], [1, 0]
    assert brier_score(p, y) == pytest.approx(0.065)  # (0.04 + 0.09) / 2
    assert brier_score(market, y) == pytest.approx(0.205)  # (0.16 + 0.25) / 2
    assert brier_advantage(p, market, y) == pytest.approx(0.14)
    assert log_loss(p, y) == pytest.approx((-math.log(0.8) - math.log(0.7)) / 2)


def test_calibration_table_bins() -> None:
    table = calibration_table([0.05, 0.15, 0.12, 1.0], [0, 1, 0, 1], bins=10)
    rows = table.to_dicts()
    assert rows[0]["count"] == 1 and rows[0]["observed_frequency"] == 0.0
    assert rows[1]["count"] == 2 and rows[1]["mean_probability"] == pytest.approx(0.135)
    assert rows[1]["observed_frequency"] == 0.5
    assert rows[9]["count"] == 1
    assert rows[5]["count"] == 0 and rows[5]["mean_probability"] is None


probabilities = st.lists(st.floats(0.01, 0.99), min_size=1, max_size=50)


@settings(max_examples=200, deadline=None)
@given(probabilities, st.data())
def test_brier_and_log_loss_match_scikit_learn(p: list[float], data: st.DataObject) -> None:
    y = data.draw(st.lists(st.integers(0, 1), min_size=len(p), max_size=len(p)))
    assert brier_score(p, y) == pytest.approx(brier_score_loss(y, p, pos_label=1), abs=1e-12)
    assert log_loss(p, y) == pytest.approx(sklearn_log_loss(y, p, labels=[0, 1]), abs=1e-9)


def test_probabilistic_sharpe_matches_the_formula_computed_with_scipy() -> None:
    r = np.random.default_rng(3).normal(0.001, 0.01, 500)
    sr = r.mean() / r.std(ddof=1)
    skew = scipy_stats.skew(r)
    kurt = scipy_stats.kurtosis(r, fisher=False)
    z = sr * math.sqrt(len(r) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert probabilistic_sharpe_ratio(r) == pytest.approx(scipy_stats.norm.cdf(z), abs=1e-12)
    assert probabilistic_sharpe_ratio(r, benchmark=sr) == pytest.approx(0.5)


def test_deflated_sharpe_discounts_the_best_of_many_trials() -> None:
    rng = np.random.default_rng(5)
    r = rng.normal(0.001, 0.01, 500)
    trials = list(rng.normal(0.0, 0.05, 100))
    expected = np.std(trials, ddof=1) * (
        (1 - np.euler_gamma) * scipy_stats.norm.ppf(1 - 1 / 100)
        + np.euler_gamma * scipy_stats.norm.ppf(1 - 1 / (100 * math.e))
    )
    assert expected_max_sharpe(trials) == pytest.approx(expected, rel=1e-9)
    assert deflated_sharpe_ratio(r, trial_sharpes=trials) < probabilistic_sharpe_ratio(r)


def test_bootstrap_interval_is_seeded_and_brackets_the_total() -> None:
    pnls = np.random.default_rng(1).normal(1.0, 5.0, 200)
    first = bootstrap_interval(pnls, seed=42)
    assert first == bootstrap_interval(pnls, seed=42)
    assert first != bootstrap_interval(pnls, seed=43)
    assert first[0] < pnls.sum() < first[1]


def test_simple_returns() -> None:
    assert list(simple_returns([100, 110, 99])) == pytest.approx([0.1, -0.1])


KALSHI_TICKS = [
    (1, 0, 0.40, 0.42, 500, 500),
    (1, 10, 0.40, 0.42, 500, 500),
    (1, 15, 0.41, 0.43, 500, 500),
    (1, 40, 0.98, 0.99, 500, 500),
]


def _buy_and_hold() -> object:
    return run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        resolutions=[Resolution(1, "yes", at(30))],
        config=config(),
    )


def test_run_metrics_equal_the_hand_figures() -> None:
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        resolutions=[Resolution(1, "yes", at(30))],
        config=config(),
    )
    metrics = compute_metrics(result, seed=1)
    assert metrics.pnl == Decimal("54.27")
    assert metrics.fees_paid == Decimal("1.73")
    assert metrics.return_on_capital == pytest.approx(0.05427)
    assert (metrics.trades, metrics.fills, metrics.win_rate) == (1, 1, 1.0)
    assert metrics.expectancy == pytest.approx(54.27)
    assert metrics.turnover == pytest.approx(0.044)  # $44 traded on $1,000
    # Equity at 10 s: 1000; at 20 s: 954.27 + 100 × 0.42 (mid); at 30 s and 40 s: 1054.27.
    assert list(result.equity.get_column("equity")) == pytest.approx(
        [1000, 996.27, 1054.27, 1054.27]
    )
    assert metrics.max_drawdown == pytest.approx(3.73 / 1000)
    assert metrics.time_in_market == pytest.approx(0.25)
    # The signal said YES at limit 0.45 + edge 0.05 = 0.5; the market's mid was 0.41; YES won.
    assert metrics.signals_scored == 1
    assert metrics.brier == pytest.approx(0.25)
    assert metrics.brier_market == pytest.approx(0.59**2)
    assert metrics.to_dict()["pnl"] == "54.27"


def test_same_inputs_and_seed_give_identical_metrics() -> None:
    rng = np.random.default_rng(11)
    rows = []
    for market in (1, 2):
        mid = 0.5
        for second in range(0, 600, 3):
            mid = float(np.clip(mid + rng.normal(0, 0.01), 0.05, 0.95))
            rows.append((market, second, round(mid - 0.01, 2), round(mid + 0.01, 2), 50.0, 50.0))
    plan = [
        signal(int(m), float(s), "yes" if rng.random() < 0.5 else "no", limit=0.99, size=20)
        for m, s in zip(
            rng.choice([1, 2], 40), rng.choice(range(0, 600, 3), 40, replace=False), strict=True
        )
    ]
    resolutions = [Resolution(1, "yes", at(500)), Resolution(2, "no", at(700))]

    def once() -> dict[str, object]:
        result = run_backtest(
            Scripted(plan),
            tick_frame(rows),
            markets=MARKETS,
            resolutions=resolutions,
            config=config(),
        )
        return compute_metrics(result, seed=9).to_dict()

    first, second = once(), once()
    assert first == second
    assert first["fills"] and first["trades"]
    assert first["deflated_sharpe"] is None  # not part of a sweep


def test_sweep_metrics_deflate_the_sharpe_ratio() -> None:
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame([*KALSHI_TICKS, (1, 50, 0.60, 0.62, 500, 500), (1, 70, 0.30, 0.32, 500, 500)]),
        markets=MARKETS,
        config=config(),
    )
    trials = [0.1, -0.2, 0.05, 0.3]
    metrics = compute_metrics(result, trial_sharpes=trials)
    returns = simple_returns(result.equity.get_column("equity").to_numpy())
    assert metrics.sharpe_per_period == pytest.approx(sharpe_ratio(returns))
    assert metrics.deflated_sharpe == pytest.approx(
        deflated_sharpe_ratio(returns, trial_sharpes=trials)
    )
