"""Kalshi (Trade API v2): parsing, REST client with request signing, polling venue."""
