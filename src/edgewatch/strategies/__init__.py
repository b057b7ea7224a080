"""Strategies: pure functions of market data that propose signals.

They never touch the database, the API or a venue client, so one strategy object runs unchanged in
live signal generation, backtests and paper trading.
"""
