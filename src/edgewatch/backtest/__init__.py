"""Backtesting: replay stored ticks through a strategy with honest fills, fees and settlement.

Pure: takes data and returns data. The pieces other layers call:

* ``fills.fill_order`` — the one fill model (paper trading uses it too);
* ``portfolio.Portfolio`` — cash, netted positions, settlement, round trips;
* ``engine.run_backtest`` — the replay on a simulated clock (its inputs and outputs are in
  ``records``);
* ``metrics.compute_metrics`` — performance and forecast-quality metrics of a run.
"""

from edgewatch.backtest.engine import run_backtest
from edgewatch.backtest.fills import Fill, FillConfig, Order, Quote, Rejection, fill_order
from edgewatch.backtest.metrics import Metrics, compute_metrics
from edgewatch.backtest.portfolio import Portfolio
from edgewatch.backtest.records import BacktestConfig, BacktestResult, Resolution

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "Fill",
    "FillConfig",
    "Metrics",
    "Order",
    "Portfolio",
    "Quote",
    "Rejection",
    "Resolution",
    "compute_metrics",
    "fill_order",
    "run_backtest",
]
