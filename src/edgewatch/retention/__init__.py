"""Retention: old ticks and backtest runs leave the database only once they are safely archived."""
